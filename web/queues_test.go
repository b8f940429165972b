package web

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/vhold/vhold/queue"
)

func TestQueues(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.mustCreate(body("number", mobile(1), "queue", "support"))
	f.mustCreate(body("number", mobile(2), "queue", "support", "when", "2026-11-24T10:00:00Z"))
	if _, err := f.line.Join(ctx, queue.JoinRequest{Queue: "support", Kind: queue.Live}); err != nil {
		t.Fatal(err)
	}
	if err := f.line.SetAgentState("bob", queue.AgentPaused, "lunch"); err != nil {
		t.Fatal(err)
	}

	rec := f.do(req{path: "/api/v1/queues", token: token})
	if rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	all := decode[queuesView](t, rec)
	if len(all.Queues) != 2 || all.Queues[0].Name != "support" || all.Queues[1].Name != "sales" {
		t.Fatalf("queues %+v", all.Queues)
	}

	rec = f.do(req{path: "/api/v1/queues/support", token: token})
	if rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	q := decode[queueView](t, rec)
	if q.Counts.OnHold != 1 || q.Counts.Callbacks != 1 || q.Counts.Scheduled != 1 {
		t.Errorf("counts %+v", q.Counts)
	}
	if !q.Open || q.NextOpen != nil || q.Timezone != "UTC" || q.Staffed != 1 {
		t.Errorf("queue %+v", q)
	}
	if !q.Wait.Known || q.Wait.Basis == "" || q.Wait.PessimisticSeconds < q.Wait.MeanSeconds {
		t.Errorf("wait %+v", q.Wait)
	}
	if len(q.Agents) != 2 || q.Agents[0].ID != "alice" || q.Agents[0].State != "available" ||
		q.Agents[1].ID != "bob" || q.Agents[1].State != "paused" || q.Agents[1].Reason != "lunch" || q.Agents[1].Name != "Bob" {
		t.Errorf("agents %+v", q.Agents)
	}

	// Closed: says when it opens.
	f.clk.Set(time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC))
	q = decode[queueView](t, f.do(req{path: "/api/v1/queues/support", token: token}))
	if q.Open || q.NextOpen == nil || !q.NextOpen.Equal(time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("closed queue %+v", q)
	}

	wantError(t, f.do(req{path: "/api/v1/queues/nope", token: token}), 404, "unknown_queue", "queue")
	wantError(t, f.do(req{path: "/api/v1/queues?x=1", token: token}), 400, "unknown_parameter", "x")
}

// With nobody staffing the queue the wait is unknown, and said to be.
func TestQueueWaitUnknown(t *testing.T) {
	f := newFixture(t)
	if err := f.line.SetAgentState("carol", queue.AgentOffline, "home"); err != nil {
		t.Fatal(err)
	}
	q := decode[queueView](t, f.do(req{path: "/api/v1/queues/sales", token: token}))
	if q.Wait.Known || q.Wait.Basis != queue.BasisUnknown || q.Wait.MeanSeconds != 0 || q.Staffed != 0 {
		t.Errorf("queue %+v", q)
	}
}

func TestAgentState(t *testing.T) {
	f := newFixture(t)
	put := func(id, b string) (int, agentView, string) {
		rec := f.do(req{method: http.MethodPut, path: "/api/v1/agents/" + id + "/state", body: b, token: token})
		if rec.Code != http.StatusOK {
			return rec.Code, agentView{}, rec.Body.String()
		}
		return rec.Code, decode[agentView](t, rec), ""
	}
	code, a, _ := put("alice", body("state", "paused", "reason", "coaching"))
	if code != 200 || a.ID != "alice" || a.State != "paused" || a.Reason != "coaching" || !a.Since.Equal(t0) {
		t.Errorf("paused: %d %+v", code, a)
	}
	code, a, _ = put("alice", body("state", "offline"))
	if code != 200 || a.State != "offline" || a.Reason != "set through the API" {
		t.Errorf("offline: %d %+v", code, a)
	}
	code, a, _ = put("alice", body("state", "available"))
	if code != 200 || a.State != "available" {
		t.Errorf("available: %d %+v", code, a)
	}
	for _, ag := range f.line.Agents() {
		if ag.ID == "alice" && ag.State != queue.AgentAvailable {
			t.Errorf("line says %s", ag.State)
		}
	}

	rec := f.do(req{method: http.MethodPut, path: "/api/v1/agents/alice/state", body: body("state", "busy"), token: token})
	wantError(t, rec, 400, "invalid_state", "state")
	rec = f.do(req{method: http.MethodPut, path: "/api/v1/agents/alice/state", body: body("reason", "x"), token: token})
	wantError(t, rec, 400, "missing_field", "state")
	rec = f.do(req{method: http.MethodPut, path: "/api/v1/agents/zoe/state", body: body("state", "paused"), token: token})
	wantError(t, rec, 404, "unknown_agent", "id")

	// Talking to a customer: the pause has to wait for the call to end.
	ctx := context.Background()
	if _, err := f.line.Join(ctx, queue.JoinRequest{Queue: "sales", Kind: queue.Live}); err != nil {
		t.Fatal(err)
	}
	as, err := f.line.Next(ctx)
	if err != nil || as == nil || as.Agent.ID != "carol" {
		t.Fatalf("next: %+v %v", as, err)
	}
	if _, err := f.line.Connect(ctx, as.Ticket.ID, "test"); err != nil {
		t.Fatal(err)
	}
	rec = f.do(req{method: http.MethodPut, path: "/api/v1/agents/carol/state", body: body("state", "paused"), token: token})
	wantError(t, rec, 409, "illegal_transition", "state")
}
