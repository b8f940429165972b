package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/vhold/vhold/queue"
)

// queueView is a queue's live figures: what the board's header and a
// wallboard show.
type queueView struct {
	Name     string       `json:"name"`
	Timezone string       `json:"timezone"`
	Open     bool         `json:"open"`
	NextOpen *time.Time   `json:"next_open,omitempty"`
	Counts   queue.Counts `json:"counts"`
	// Staffed counts the agents serving the queue who are logged in and not
	// paused: the servers the wait estimate assumes.
	Staffed int `json:"staffed"`
	// Wait is the estimated wait for someone joining the back now.
	Wait   waitView    `json:"wait"`
	Agents []agentView `json:"agents"`
}

func (s *Server) queueView(name string, agents []queue.Agent, now time.Time) (queueView, error) {
	qo := s.queues[name]
	c, err := s.line.Counts(name)
	if err != nil {
		return queueView{}, fmt.Errorf("queue %s: %w", name, err)
	}
	wt, err := s.line.EstimateNew(name)
	if err != nil {
		return queueView{}, fmt.Errorf("queue %s: %w", name, err)
	}
	v := queueView{Name: name, Timezone: qo.Location.String(), Open: true, Counts: c, Wait: waitOf(wt), Agents: []agentView{}}
	if h := qo.Hours; h != nil && !h.Open(now) {
		v.Open = false
		v.NextOpen = opt(h.NextOpen(now))
	}
	for _, a := range agents {
		if !servesQueue(a, name) {
			continue
		}
		v.Agents = append(v.Agents, agentOf(a))
		if a.State != queue.AgentOffline && a.State != queue.AgentPaused {
			v.Staffed++
		}
	}
	return v, nil
}

type queuesView struct {
	Queues []queueView `json:"queues"`
}

func handleQueues(s *Server, w http.ResponseWriter, r *http.Request) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	now := s.clock.Now()
	agents := s.line.Agents()
	out := queuesView{Queues: []queueView{}}
	for _, name := range s.line.Queues() {
		v, err := s.queueView(name, agents, now)
		if err != nil {
			return err
		}
		out.Queues = append(out.Queues, v)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func handleQueue(s *Server, w http.ResponseWriter, r *http.Request) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	name := r.PathValue("queue")
	if _, ok := s.queues[name]; !ok {
		return unknownQueue(name)
	}
	v, err := s.queueView(name, s.line.Agents(), s.clock.Now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

type agentStateRequest struct {
	State  string `json:"state"`
	Reason string `json:"reason"`
}

// handleAgentState logs an agent in or out or pauses them. Only those three
// states are anyone's to set: reserved, ringing, busy and wrap-up follow the
// calls, and the dialer sets them.
func handleAgentState(s *Server, w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var req agentStateRequest
	if err := s.decode(r, &req, w); err != nil {
		return err
	}
	st := queue.AgentState(strings.TrimSpace(req.State))
	switch st {
	case queue.AgentAvailable, queue.AgentPaused, queue.AgentOffline:
	case "":
		return fail(http.StatusBadRequest, "missing_field", "state", "state is required: available, paused or offline")
	default:
		return fail(http.StatusBadRequest, "invalid_state", "state",
			"state must be available, paused or offline (got %q); the other states follow the calls", req.State)
	}
	reason := strings.TrimSpace(req.Reason)
	if reason == "" {
		reason = "set through the API"
	}
	if err := s.line.SetAgentState(id, st, reason); err != nil {
		switch {
		case errors.Is(err, queue.ErrNoAgent):
			return fail(http.StatusNotFound, "unknown_agent", "id", "there is no agent %q; GET /api/v1/queues lists them", id)
		case errors.Is(err, queue.ErrIllegalTransition):
			return fail(http.StatusConflict, "illegal_transition", "state", "agent %s cannot go %s now: %v; try again when their call ends", id, st, err)
		}
		return fmt.Errorf("set agent %s %s: %w", id, st, err)
	}
	s.log.WithFields(logrus.Fields{"agent": id, "state": st, "reason": reason}).Info("agent state set through the API")
	for _, a := range s.line.Agents() {
		if a.ID == id {
			writeJSON(w, http.StatusOK, agentOf(a))
			return nil
		}
	}
	return fmt.Errorf("agent %s vanished after its state was set", id)
}
