package main

import (
	"reflect"
	"testing"

	"github.com/vhold/vhold/config"
	"github.com/vhold/vhold/promise"
)

// `vhold check` renders recovery message templates against
// config.MessageData; the keeper renders them with promise.MessageData. A
// field in one and not the other would pass the check and fail when a
// promise is already slipping.
func TestMessageDataInStep(t *testing.T) {
	a, b := reflect.TypeOf(config.MessageData{}), reflect.TypeOf(promise.MessageData{})
	if a.NumField() != b.NumField() {
		t.Fatalf("config.MessageData has %d fields, promise.MessageData %d", a.NumField(), b.NumField())
	}
	for i := range a.NumField() {
		if fa, fb := a.Field(i), b.Field(i); fa.Name != fb.Name || fa.Type != fb.Type {
			t.Fatalf("field %d: config %s %s, promise %s %s", i, fa.Name, fa.Type, fb.Name, fb.Type)
		}
	}
}

// The example file's promise settings become the keeper's policies.
func TestPromisePoliciesFromExample(t *testing.T) {
	c, err := config.Load("../../configs/vhold.yaml", func(string) (string, bool) { return "x", true })
	if err != nil {
		t.Fatal(err)
	}
	ps, err := promisePolicies(c)
	if err != nil {
		t.Fatal(err)
	}
	for name := range c.Queues {
		p, ok := ps[name]
		if !ok || len(p.Categories) < 5 || p.Default.Margin <= 0 {
			t.Fatalf("queue %s policy %+v", name, p)
		}
		if p.Categories["money"].Margin < p.Categories["general"].Margin {
			t.Fatalf("queue %s: money margin %s below general %s", name, p.Categories["money"].Margin, p.Categories["general"].Margin)
		}
	}
}
