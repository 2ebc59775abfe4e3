package docker

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"

	"github.com/sluice-io/sluice/state"
)

// eventSource is the part of the engine client that Events uses, so the
// reconnect logic is tested against a scripted stream.
type eventSource interface {
	Events(ctx context.Context, options client.EventsListOptions) client.EventsResult
}

// The container actions passed on: the ones that change whether a
// container runs.
var forwardedActions = []events.Action{events.ActionStart, events.ActionDie, events.ActionOOM}

// Reconnect backoff after the event stream breaks (the engine restarted,
// the socket went away): quick at first, bounded so an engine that comes
// back is noticed within seconds.
const (
	minEventBackoff = 100 * time.Millisecond
	maxEventBackoff = 5 * time.Second
)

// Events streams the start, die and oom events of this node's sluice
// containers until ctx ends, then closes the channel. ContainerID is the
// sluice ID ("<app>/<container>"); ExitCode is set for die. When the stream
// breaks it reconnects with backoff and resumes just after the last event
// it passed on, so a short outage loses nothing.
func (r *Runtime) Events(ctx context.Context) <-chan state.ContainerEvent {
	out := make(chan state.ContainerEvent, 64)
	go func() {
		defer close(out)
		r.watchEvents(ctx, out)
	}()
	return out
}

func (r *Runtime) eventFilters() client.Filters {
	f := r.nodeFilters().Add("type", string(events.ContainerEventType))
	for _, a := range forwardedActions {
		f.Add("event", string(a))
	}
	return f
}

func (r *Runtime) watchEvents(ctx context.Context, out chan<- state.ContainerEvent) {
	var lastNanos int64 // engine time of the last event passed on; 0 before any
	backoff := minEventBackoff
	for {
		opts := client.EventsListOptions{Filters: r.eventFilters()}
		if lastNanos > 0 {
			opts.Since = sinceAfter(lastNanos)
		}
		forwarded, err := forwardEvents(ctx, r.events.Events(ctx, opts), out, &lastNanos, r.awaitExitHandled)
		if ctx.Err() != nil {
			return
		}
		if forwarded {
			backoff = minEventBackoff
		}
		r.log.Warn("Docker event stream ended; reconnecting", "err", err, "after", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxEventBackoff)
	}
}

// sinceAfter is the engine's "since" for the first nanosecond after
// nanos, so the event already passed on is not repeated.
func sinceAfter(nanos int64) string {
	next := nanos + 1
	return fmt.Sprintf("%d.%09d", next/1e9, next%1e9)
}

// forwardEvents passes one subscription's events on until it fails or ctx
// ends, and says whether it passed any on. settle runs before each event is
// passed on.
func forwardEvents(ctx context.Context, res client.EventsResult, out chan<- state.ContainerEvent, lastNanos *int64,
	settle func(context.Context, events.Message)) (bool, error) {
	forwarded := false
	for {
		select {
		case <-ctx.Done():
			return forwarded, ctx.Err()
		case err := <-res.Err:
			if err == nil {
				err = fmt.Errorf("stream closed")
			}
			return forwarded, err
		case m := <-res.Messages:
			ev, ok := containerEvent(m)
			if !ok {
				continue
			}
			settle(ctx, m)
			select {
			case out <- ev:
			case <-ctx.Done():
				return forwarded, ctx.Err()
			}
			forwarded = true
			*lastNanos = max(*lastNanos, messageNanos(m))
		}
	}
}

// settleTimeout bounds the wait for the engine to finish handling an exit.
const settleTimeout = 5 * time.Second

// awaitExitHandled returns once the engine has recorded the exit a die
// event reports. The engine sends die before it saves the container's
// stopped state (Docker 20.10 does, while it still holds the container's
// lock and unmounts its file system), so a List made at once can still
// show the container running, and a reconciler woken by the event would
// see nothing to do until its next resync. Inspecting the container takes
// that lock, so it returns after the state is saved, and any List that
// follows shows the container dead. A failed inspect (the container is
// already gone) needs no wait.
func (r *Runtime) awaitExitHandled(ctx context.Context, m events.Message) {
	if m.Action != events.ActionDie || r.cli == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	_, _ = r.cli.ContainerInspect(ctx, m.Actor.ID, client.ContainerInspectOptions{})
}

func messageNanos(m events.Message) int64 {
	if m.TimeNano != 0 {
		return m.TimeNano
	}
	return m.Time * 1e9
}

// containerEvent turns an engine event into sluice's, if it is about one
// of sluice's containers and an action sluice cares about. Container
// events carry the container's labels as attributes.
func containerEvent(m events.Message) (state.ContainerEvent, bool) {
	if m.Type != events.ContainerEventType {
		return state.ContainerEvent{}, false
	}
	known := false
	for _, a := range forwardedActions {
		known = known || m.Action == a
	}
	info, ok := fromLabels(m.Actor.Attributes)
	if !known || !ok {
		return state.ContainerEvent{}, false
	}
	ev := state.ContainerEvent{ContainerID: info.id(), Action: string(m.Action)}
	if code, err := strconv.Atoi(m.Actor.Attributes["exitCode"]); err == nil {
		ev.ExitCode = code
	}
	return ev, true
}
