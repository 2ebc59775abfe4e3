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
// container runs. The subscription asks for listChangingActions, a
// superset, which keep List's cache honest.
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
// sluice ID ("<app>/<container>"); ExitCode is set for die. It subscribes
// before it returns (the engine has answered, or failed to), so a caller
// that lists the containers next misses no later death. When the stream
// breaks it reconnects with backoff and resumes just after the last event
// it passed on, so a short outage loses nothing.
func (r *Runtime) Events(ctx context.Context) <-chan state.ContainerEvent {
	out := make(chan state.ContainerEvent, 64)
	first := r.subscribe(ctx, 0)
	go func() {
		defer close(out)
		r.watchEvents(ctx, first, out)
	}()
	return out
}

func (r *Runtime) eventFilters() client.Filters {
	f := r.nodeFilters().Add("type", string(events.ContainerEventType))
	for _, a := range listChangingActions {
		f.Add("event", string(a))
	}
	return f
}

// subscribe asks the engine for this node's container events: from now
// if lastNanos is 0, else from just after it. The engine client returns
// once the engine has answered.
func (r *Runtime) subscribe(ctx context.Context, lastNanos int64) client.EventsResult {
	opts := client.EventsListOptions{Filters: r.eventFilters()}
	if lastNanos > 0 {
		opts.Since = sinceAfter(lastNanos)
	}
	return r.events.Events(ctx, opts)
}

// watchEvents passes on the events of res, then of each new subscription
// after the last one broke, until ctx ends. While a subscription is live,
// List may answer from its cache.
func (r *Runtime) watchEvents(ctx context.Context, res client.EventsResult, out chan<- state.ContainerEvent) {
	var lastNanos int64 // engine time of the last event received; 0 before any
	backoff := minEventBackoff
	for {
		r.listed.watch(+1)
		forwarded, err := r.forwardEvents(ctx, res, out, &lastNanos)
		r.listed.watch(-1)
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
		res = r.subscribe(ctx, lastNanos)
	}
}

// sinceAfter is the engine's "since" for the first nanosecond after
// nanos, so the event already passed on is not repeated.
func sinceAfter(nanos int64) string {
	next := nanos + 1
	return fmt.Sprintf("%d.%09d", next/1e9, next%1e9)
}

// forwardEvents passes one subscription's events on until it fails or ctx
// ends, and says whether it passed any on. Each event drops List's cache
// and is recorded in deaths before it is passed on, so whatever it wakes
// lists the container as the event says.
func (r *Runtime) forwardEvents(ctx context.Context, res client.EventsResult, out chan<- state.ContainerEvent, lastNanos *int64) (bool, error) {
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
			*lastNanos = max(*lastNanos, messageNanos(m))
			ev, ok := containerEvent(m)
			if ok {
				r.deaths.record(m.Actor.ID, ev)
			}
			// After deaths: a listing made in between would be kept
			// without the death.
			r.listed.changed()
			if !ok {
				continue
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return forwarded, ctx.Err()
			}
			forwarded = true
		}
	}
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
