// Package aritest is an in-process fake Asterisk 22 that speaks ARI — REST
// under /ari and the events WebSocket — wire-compatible with the real one as
// recorded in shared/pbx/asterisk/traces (Asterisk 22.10.1). It exists for
// the Asterisk adapter's conformance tests, the end-to-end test of the vhold
// binary and the 500-caller benchmark: a client that works against it works
// against what a real Asterisk sends, including the awkward parts (events and
// REST replies in any order, playbacks that never finish, bridge operations
// that wait seconds behind a prompt, events dropped while the WebSocket is
// down, a second consumer taking over the app).
//
// It does not import the adapter's client: it is written from the traces and
// the Swagger files, so it checks the client rather than agreeing with it.
// Every behaviour names, in a comment, the trace file (and line) it
// reproduces; behaviours the traces do not show follow Asterisk's source and
// say so.
//
// The other side of the wire is scripted: Server.Call places an inbound call
// into Stasis (the dialplan's Stasis(app,args)), Server.Endpoint scripts the
// peers originates reach (answer after a ring, busy, no answer, unreachable,
// a dead contact). A Call is the party's phone: it presses keys, hangs up,
// and reports what it heard, its music on hold, its bridge and its SIP
// messages in sipp's words.
//
// Time is real, optionally sped up (Options.Speed), so a 32 s SIP timer or a
// 7.8 s prompt take milliseconds in a test while every wait keeps its order.
//
// Left out on purpose: the dialplan (continue hangs the channel up, as into a
// context that does not exist), Local channel pairs, snoop, external media,
// device states, sounds, mailboxes, bridge recording, and subscribeAll's
// extra events for inbound channels (the traces only show them for
// originated ones).
package aritest
