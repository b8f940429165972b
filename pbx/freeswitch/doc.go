// Package freeswitch runs vhold's call flows on FreeSWITCH through the
// event socket (ESL), with github.com/percipia/eslgo v1.5.0: it turns
// channels parked with a vhold_queue variable into pbx.Calls and pbx verbs
// into api commands, and the events that answer them back into
// completions. Every choice below comes from the real captures in
// ../shared/pbx/freeswitch/traces (named in brackets) or, where they are
// silent, from FreeSWITCH's source; esltest reproduces both for the tests.
//
// Inbound mode, one connection. vhold connects to event_socket.conf's
// address, subscribes to the events it acts on, and routes each by its
// Unique-ID. The dialplan sets vhold_queue (and optionally vhold_lang) and
// parks the call [01-inbound-dtmf]; the CHANNEL_PARK carries the variables
// (variable_vhold_queue, fact 11), so a call needs no lookup. Outbound mode
// (the socket application) was not chosen: myevents leaves out
// PLAYBACK_START/STOP, so a prompt's end is only a CHANNEL_EXECUTE_COMPLETE
// [05-outbound-mode]; it takes one connection per call (500 callers on hold
// are 500 sockets); the call dies with vhold's socket, so a restart cannot
// keep a caller's place; and eslgo's outbound server cannot be closed.
// Inbound mode keeps callers parked with their music while vhold restarts
// or reconnects, and the next connection takes them back.
//
// What the traces forced:
//   - Replies are not matched to requests by eslgo, and one command given up
//     on shifts every later reply [06-errors (f)]: commands go one at a
//     time, a command never gives up on its reply, and a reply that does
//     not come within CommandTimeout closes the connection (conn.go).
//   - eslgo runs each event listener in a goroutine of its own, so events
//     arrive out of order [01-inbound-dtmf.app.log]: they are sorted by
//     Event-Sequence before they are handled, and the call state tolerates
//     what is still late (events.go).
//   - Plain events only: eslgo hands JSON events over with no headers
//     [06-errors (e)]. vhold never sends "log": its log/data replies end
//     eslgo's reader [06-errors (h)].
//   - vhold builds its own originate (bgapi with its own Job-UUID and
//     origination_uuid): eslgo's helpers send "bgapi bgapi" and drop
//     origination_uuid [06-errors (g)].
//   - A reply is a prefix (+OK, -ERR, -USAGE, -ERROR) and a getter's reply
//     is a bare value [fact 4]; the no-such-channel wordings of each command
//     become pbx.ErrHungUp [06-errors table].
//   - park does not answer: Answer is uuid_answer [01-inbound-dtmf].
//   - uuid_broadcast answers before the prompt starts; a prompt plays from
//     its PLAYBACK_START to its PLAYBACK_STOP [01-inbound-dtmf], and a
//     STOP may come after the hangup [02-hold].
//   - A key never stops a prompt by itself [01-inbound-dtmf], except "*",
//     FreeSWITCH's default playback_terminators, which stops prompts and
//     music alike [02-hold]: every call gets playback_terminators=none, and
//     the adapter sends uuid_break when one of the keys a Play names comes.
//     uuid_break is sent only while something plays: sent to a silent
//     channel it would cut the next prompt (CF_BREAK, mod_commands).
//   - Music on hold is a broadcast of local_stream://<class>, which plays
//     until broken [02-hold]; a prompt breaks it, waits for its STOP, and
//     starts it again after.
//   - Outcomes of an originate come from the Hangup-Cause, in the
//     BACKGROUND_JOB's "-ERR <CAUSE>" or the leg's CHANNEL_HANGUP, which
//     comes first [04-originate-fail]: USER_BUSY busy, NO_ANSWER no answer,
//     NORMAL_TEMPORARY_FAILURE unreachable, UNALLOCATED_NUMBER invalid,
//     CALL_REJECTED rejected (causes.go).
//   - After uuid_bridge FreeSWITCH hangs up the other leg when one leaves
//     [03-originate-answer]. vhold sets park_after_bridge on its calls, so
//     the survivor parks and its flow is told (EventUnbridge), and vhold
//     ends the conversation itself, as on Asterisk.
//
// Where eslgo gets in the way (its source, v1.5.0):
//   - Dial waits for the auth/request greeting with no timeout, and after
//     a wrong password spends its 5 s ExitTimeout on a closed socket: a
//     bounded login of vhold's own (greet) runs first and tells "refused",
//     "not an event socket" and "authentication failed" apart; Dial itself
//     runs under DialTimeout. A Dial that never returns cannot be stopped
//     from outside eslgo; that goroutine is left (and logged) rather than
//     blocking Serve.
//   - Its reader reports only EOF (OnDisconnect); any other read error ends
//     it silently: a heartbeat command every Heartbeat finds a dead
//     connection through its timeout.
//   - Its command helpers are not used: every command is written here
//     (raw), so none can add "bgapi bgapi" or lose a header.
//
// A dropped connection: vhold reconnects with backoff (MinBackoff doubling
// to MaxBackoff), subscribes again and reconciles (show channels,
// uuid_getvar): calls that ended in the gap end, prompts and dials whose
// events were lost are settled, and channels vhold owns but does not know
// are taken back, so a held caller keeps their place. Verbs issued during
// the gap wait for the connection (LinkWait).
//
// While connected, vhold keeps the global variable AliveVariable a little
// ahead of the time, so the dialplan can send callers elsewhere when vhold
// is not there (configs/freeswitch/vhold.xml).
//
// Not done: DeleteRecording (there is no api to delete a file; recordings
// of callers' names stay in Recordings until cleaned up on the host),
// pbx.Continuer (handing a call back to the dialplan needs uuid_transfer,
// which the traces do not show), and silence detection while recording.
package freeswitch
