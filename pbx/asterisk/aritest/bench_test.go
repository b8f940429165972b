package aritest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// BenchmarkHeldCallers500 carries 500 concurrent callers through a hold
// loop on the fake: each is answered, put in a shared holding bridge with
// music, hears an offer on its channel, presses 1 and is hung up. It shows
// the fake itself is no bottleneck for the 500-caller benchmark of vhold
// serve (one op = all 500 calls).
func BenchmarkHeldCallers500(b *testing.B) {
	for range b.N {
		heldCallers(b, 500)
	}
}

func heldCallers(b *testing.B, n int) {
	srv := New(Options{Speed: 100, PlaybackDuration: func(string) time.Duration { return time.Second }})
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	var failed atomic.Int64
	rest := func(method, path string) {
		req, _ := http.NewRequest(method, srv.URL()+path, nil)
		req.SetBasicAuth("vhold", "vhold")
		resp, err := client.Do(req)
		if err != nil || resp.StatusCode >= 300 {
			failed.Add(1)
		}
		if err == nil {
			resp.Body.Close()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL(), "http")+"/events?app=vhold&api_key=vhold:vhold", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(1 << 20)
	if err := srv.WaitConnected(ctx); err != nil {
		b.Fatal(err)
	}
	rest("POST", "/bridges?type=holding&bridgeId=hold")
	rest("POST", "/bridges/hold/moh?mohClass=default")

	var wg sync.WaitGroup
	ended := 0
	for i := 0; i < n; i++ {
		srv.Call(CallSpec{Args: []string{"support"}, Script: Script{{AfterMedia: "sound:offer", Press: "1"}}})
	}
	for ended < n {
		_, data, err := ws.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		var e struct {
			Type    string
			Channel struct{ ID string }
		}
		if err := json.Unmarshal(data, &e); err != nil {
			b.Fatal(err)
		}
		id := e.Channel.ID
		switch e.Type {
		case "StasisStart":
			wg.Add(1)
			go func() {
				defer wg.Done()
				rest("POST", "/channels/"+id+"/answer")
				rest("POST", "/bridges/hold/addChannel?channel="+id)
				rest("POST", "/channels/"+id+"/play?media=sound:offer")
			}()
		case "ChannelDtmfReceived":
			wg.Add(1)
			go func() {
				defer wg.Done()
				rest("DELETE", "/channels/"+id)
			}()
		case "StasisEnd":
			ended++
		}
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		b.Fatalf("%d REST calls failed", f)
	}
}
