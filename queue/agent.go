package queue

import (
	"fmt"
	"time"
)

// AgentState is what an agent is doing, as far as the line is concerned.
type AgentState string

const (
	AgentOffline   AgentState = "offline"
	AgentAvailable AgentState = "available"
	// AgentReserved: picked by Next for a ticket, not ringing yet.
	AgentReserved AgentState = "reserved"
	AgentRinging  AgentState = "ringing"
	AgentBusy     AgentState = "busy"
	// AgentWrapUp: the call ended; the agent is finishing notes and becomes
	// available on their own when the wrap-up time has passed.
	AgentWrapUp AgentState = "wrap-up"
	AgentPaused AgentState = "paused"
)

// agentTransitions lists, for each state, the states an agent may move to.
var agentTransitions = map[AgentState][]AgentState{
	AgentOffline:   {AgentAvailable, AgentPaused},
	AgentAvailable: {AgentReserved, AgentPaused, AgentOffline},
	AgentReserved:  {AgentRinging, AgentBusy, AgentAvailable, AgentOffline},
	AgentRinging:   {AgentBusy, AgentAvailable, AgentPaused, AgentOffline},
	AgentBusy:      {AgentWrapUp, AgentAvailable, AgentOffline},
	AgentWrapUp:    {AgentAvailable, AgentPaused, AgentOffline},
	AgentPaused:    {AgentAvailable, AgentOffline},
}

// ParseAgentState accepts the names used in config, the API and the CLI.
func ParseAgentState(s string) (AgentState, error) {
	st := AgentState(s)
	if _, ok := agentTransitions[st]; !ok {
		return "", fmt.Errorf("unknown agent state %q (want offline, available, reserved, ringing, busy, wrap-up or paused)", s)
	}
	return st, nil
}

func agentCan(from, to AgentState) bool {
	if from == to {
		return true
	}
	for _, s := range agentTransitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// AgentConfig is one configured agent.
type AgentConfig struct {
	ID       string
	Name     string
	Endpoint string
	// Queues the agent serves; an agent in several queues takes the ticket that
	// has waited longest among their heads.
	Queues []string
	WrapUp time.Duration
	// InitialState is the agent's state when vhold starts (available, paused
	// or offline); empty means available, like a static queue member.
	InitialState AgentState
	// Node is the PBX the agent's phone is registered on (a pbx.Switch name,
	// as in Ticket.Node): callbacks the agent takes are dialed from it, and
	// a live caller on another PBX reaches the agent only if Config.Reach
	// says so. Empty: any PBX (one server, tests).
	Node string
}

// Agent is a snapshot of one agent.
type Agent struct {
	AgentConfig
	State AgentState
	Since time.Time
	// Reason is why the agent is in this state (a pause reason, "wrap-up").
	Reason string
	// Ticket is the ticket the agent is reserved for or handling.
	Ticket TicketID
	// ReservedAt is when the agent was given Ticket: the agent's time on a
	// ticket runs from here, through ringing and talking, to the end of
	// wrap-up, and that whole cycle is what the line waits on.
	ReservedAt time.Time
}

// serves reports whether the agent takes tickets from queue q.
func (a *Agent) serves(q string) bool {
	for _, s := range a.Queues {
		if s == q {
			return true
		}
	}
	return false
}

// staffed reports whether the agent counts as serving their queues now: logged
// in and not paused. The wait estimator's s is the number of such agents.
func (a *Agent) staffed() bool { return a.State != AgentOffline && a.State != AgentPaused }
