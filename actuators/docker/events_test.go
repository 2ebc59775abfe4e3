package docker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/sluice-io/sluice/state"
)

// scriptedEvents plays one scripted stream per subscription and records the
// options each subscription asked for. A stream left open after its
// script passes on what send gives it.
type scriptedEvents struct {
	mu      sync.Mutex
	streams []scriptedStream
	asked   []client.EventsListOptions
	live    chan events.Message
}

func (s *scriptedEvents) send(m events.Message) {
	s.mu.Lock()
	if s.live == nil {
		s.live = make(chan events.Message)
	}
	live := s.live
	s.mu.Unlock()
	live <- m
}

type scriptedStream struct {
	messages []events.Message
	err      error // sent after the messages; nil keeps the stream open
}

func (s *scriptedEvents) Events(ctx context.Context, opts client.EventsListOptions) client.EventsResult {
	s.mu.Lock()
	s.asked = append(s.asked, opts)
	var stream scriptedStream
	if len(s.streams) > 0 {
		stream, s.streams = s.streams[0], s.streams[1:]
	}
	if s.live == nil {
		s.live = make(chan events.Message)
	}
	live := s.live
	s.mu.Unlock()
	msgs := make(chan events.Message)
	errs := make(chan error, 1)
	go func() {
		for _, m := range stream.messages {
			select {
			case msgs <- m:
			case <-ctx.Done():
				return
			}
		}
		if stream.err != nil {
			errs <- stream.err
			return
		}
		for {
			select {
			case m := <-live:
				select {
				case msgs <- m:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return client.EventsResult{Messages: msgs, Err: errs}
}

func sluiceEvent(action events.Action, container string, nanos int64) events.Message {
	return events.Message{
		Type:     events.ContainerEventType,
		Action:   action,
		TimeNano: nanos,
		Actor: events.Actor{ID: "rid-" + container, Attributes: map[string]string{
			LabelApp: "web", LabelContainer: container, "exitCode": "137",
		}},
	}
}

func TestEventsReconnectAndResumeAfterTheLastEvent(t *testing.T) {
	source := &scriptedEvents{streams: []scriptedStream{
		{messages: []events.Message{sluiceEvent(events.ActionDie, "a", 5_000_000_007)}, err: errors.New("unexpected EOF")},
		{messages: []events.Message{sluiceEvent(events.ActionOOM, "b", 6_000_000_000)}},
	}}
	rt := &Runtime{events: source, settings: createSettings{node: "n1"}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch := rt.Events(ctx)
	source.mu.Lock()
	subscribed := len(source.asked)
	source.mu.Unlock()
	if subscribed != 1 {
		t.Fatalf("Events returned after %d subscriptions, want 1: a caller that lists next could miss a death", subscribed)
	}

	var got []state.ContainerEvent
	for len(got) < 2 {
		select {
		case ev := <-ch:
			got = append(got, ev)
		case <-time.After(5 * time.Second):
			t.Fatalf("got %v, then nothing for 5s", got)
		}
	}
	if c := (state.Container{RuntimeID: "rid-a", Running: true}); !rt.deaths.correct(&c) {
		t.Error("a's die event was passed on before the runtime took note of it")
	}
	want := []state.ContainerEvent{
		{ContainerID: "web/a", Action: "die", ExitCode: 137},
		{ContainerID: "web/b", Action: "oom", ExitCode: 137},
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	source.mu.Lock()
	asked := source.asked
	source.mu.Unlock()
	if len(asked) != 2 || asked[0].Since != "" || asked[1].Since != "5.000000008" {
		t.Fatalf("subscriptions asked since %q; want the first from now and the second just after 5.000000007", sinces(asked))
	}
	if !asked[0].Filters["label"][LabelNode+"=n1"] || !asked[0].Filters["event"]["die"] {
		t.Errorf("filters %v do not select this node's die events", asked[0].Filters)
	}

	cancel()
	select {
	case _, open := <-ch:
		if open {
			t.Fatal("an event arrived after cancel")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the channel stayed open 5s after its context ended")
	}
}

func sinces(opts []client.EventsListOptions) []string {
	out := make([]string, len(opts))
	for i, o := range opts {
		out[i] = o.Since
	}
	return out
}
