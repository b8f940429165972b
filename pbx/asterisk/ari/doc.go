// Package ari is vhold's own thin client for the Asterisk REST Interface:
// typed REST calls for the verbs vhold uses and a typed, reconnecting event
// stream over the ARI WebSocket.
//
// It is hand-written, not generated. github.com/CyCoreSystems/ari cannot be
// obtained in vhold's build environment, and a generator would produce every
// resource of the API when vhold needs a few dozen calls. The shapes (paths,
// parameter names, model fields) follow the Swagger files Asterisk 22 ships
// (rest-api/api-docs/*.json, copied to shared/pbx/asterisk/ari-api-docs), and
// the behaviour follows what a real Asterisk 22.10.1 did, as recorded in
// shared/pbx/asterisk/traces: where the two disagree (error bodies keyed
// "error" instead of "message", 400 instead of 404 for an unknown channel in
// addChannel, timestamps that are not RFC 3339), the traces win and the code
// says so where it handles them.
//
// The package speaks of channels, bridges and playbacks, never of calls or
// tickets: the Asterisk adapter (pbx/asterisk) turns them into vhold's
// switch-neutral pbx.Call, the same split as CyCoreSystems/ari's verbs and the
// client that implements them.
//
// Things a user of this package must know, all seen in the traces:
//   - REST responses and events are not ordered relative to each other
//     (PlaybackStarted can arrive before the 201 of play): correlate by the
//     ids the client chose (playbackId, channelId), never by arrival order.
//   - addChannel/removeChannel block until a running channel playback ends,
//     for seconds; Config.BridgeTimeout is sized for it, but the adapter should
//     stop playbacks first.
//   - While the WebSocket is down Asterisk drops events rather than queueing
//     them; after a reconnect the stream emits Connected{Reconnect: true} and
//     the adapter must reconcile with Channels().List.
package ari
