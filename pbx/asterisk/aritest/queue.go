package aritest

// command is one entry of a channel's (or a bridge announcer's) command
// queue. Asterisk runs everything an app asks of a channel in Stasis one
// after the other on that channel's thread: a playback occupies it until it
// ends, and verbs queued behind it (answer, set variable, bridge
// add/remove) wait (traces README: "Channel playback and bridge operations
// share the channel's command queue"; callback-flow.jsonl seq 23-27).
type command struct {
	name string
	// run starts the command with the server locked. It returns true when
	// the command keeps the queue busy until cmdDone is called (playback,
	// recording), false when it completed at once.
	run func() bool
	// hangup is called, locked, if the owner hangs up while the command runs.
	hangup func()
	// drop is called, locked, if the command is abandoned before it ran.
	drop func()
	// done is closed once the command completed or was abandoned; a REST
	// handler waiting for a synchronous verb waits on it.
	done   chan struct{}
	closed bool
	// pb is the playback the command plays, if it does.
	pb *playback
}

func (c *command) release() {
	if c.done != nil && !c.closed {
		c.closed = true
		close(c.done)
	}
}

func (c *command) abandon() {
	if c.drop != nil {
		c.drop()
		c.drop = nil
	}
	c.release()
}

// cmdQueue is the FIFO of commands and the one running.
type cmdQueue struct {
	cmds []*command
	cur  *command
}

// enqueue adds c to qu and starts it if nothing runs; the caller holds the
// lock. A command for a destroyed channel is abandoned at once.
func (s *Server) enqueue(qu *cmdQueue, ch *channel, c *command) {
	if ch != nil && ch.gone {
		c.abandon()
		return
	}
	qu.cmds = append(qu.cmds, c)
	s.runQueue(qu)
}

// runQueue starts queued commands until one keeps the queue busy.
func (s *Server) runQueue(qu *cmdQueue) {
	for qu.cur == nil && len(qu.cmds) > 0 {
		c := qu.cmds[0]
		qu.cmds = qu.cmds[1:]
		if c.run() {
			qu.cur = c
			return
		}
		c.release()
	}
}

// cmdDone ends the running command c and starts the next.
func (s *Server) cmdDone(qu *cmdQueue, c *command) {
	if qu.cur != c {
		return
	}
	qu.cur = nil
	c.release()
	s.runQueue(qu)
}
