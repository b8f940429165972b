// Package esltest is an in-process fake FreeSWITCH 1.10 speaking the Event
// Socket (ESL), wire-compatible with the real one as recorded in
// shared/pbx/freeswitch/traces (FreeSWITCH 1.10.12 driven by eslgo
// v1.5.0). It exists for the FreeSWITCH adapter's conformance tests, the
// end-to-end test of the vhold binary and the held-callers benchmark: a
// client that works against it works against what a real FreeSWITCH sends,
// including the awkward parts (replies before the events they cause, event
// numbers out of order on the wire, PLAYBACK_STOP after CHANNEL_HANGUP, a
// failed leg's CHANNEL_HANGUP before its BACKGROUND_JOB, "event json"
// switching the whole connection, log/data that kills eslgo's reader).
//
// It does not import the adapter or eslgo: it is written from the traces,
// so it checks the client rather than agreeing with it. Every behaviour
// names, in a comment, the trace file it reproduces; behaviours the traces
// do not show (recording, filters, park_after_bridge, show channels, a
// dropped connection) follow FreeSWITCH's source and say so.
//
// What it speaks:
//
//   - inbound mode on Server.Addr: auth/request, auth, event plain|json
//     (ALL, names, CUSTOM subclasses), nixevent, noevents, myevents <uuid>,
//     filter, linger, log/nolog, exit with its disconnect notice, api
//     (uuid_answer, uuid_broadcast, uuid_break, uuid_bridge, uuid_kill,
//     uuid_exists, uuid_getvar, uuid_setvar, uuid_record, uuid_park,
//     originate, show channels [as json], status, uptime, global_getvar,
//     eval, msleep, log, bgapi) with the traced -ERR, -ERROR and -USAGE
//     replies, bgapi with BACKGROUND_JOB (honouring the client's Job-UUID),
//     sendmsg execute/hangup, sendevent;
//   - outbound mode: a call to extension 201 runs "socket <addr> async
//     full" and the fake dials Options.SocketAddr (or CallSpec.Socket):
//     connect gets the whole channel in one header block, myevents, linger
//     and the disconnect notices as traced.
//
// The dialplan is the lab's (example-conf/dialplan/public.xml): 200 sets
// vhold_queue and parks, 201 hands the call to the outbound socket, 202
// answers and parks, anything else gets respond 404.
//
// The other side of the SIP legs is scripted: Server.Call places an
// incoming call, Server.Endpoint scripts the peers originate reaches
// (answer after a ring, busy, no answer, unreachable, a rejection). A Call
// is the party's phone: it presses keys, hangs up, and reports what it
// heard (Heard), what it pressed and recorded, and its log. Media is
// simulated: a file plays for Options.MediaDuration(path) (the traced
// prompts' lengths by default), local_stream:// music never ends, and the
// default playback_terminators "*" stops prompts and music alike.
//
// Time is real, optionally sped up (Options.Speed), so a 60 s originate
// timeout or a 10 s prompt take milliseconds in a test while every wait
// keeps its order. The trace replays run the same server on a manual clock
// instead, set to the trace's own times.
//
// Left out on purpose: SIP itself (no sofia stack: the parties are
// scripted), conference, voicemail, XML events (the "xml" format is
// accepted but serialised as plain), uuid_transfer, hold/unhold, and the
// HEARTBEAT/RE_SCHEDULE timer events FreeSWITCH sends every 20 s.
package esltest
