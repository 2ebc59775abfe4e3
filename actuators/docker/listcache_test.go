package docker

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"

	"github.com/sluice-io/sluice/state"
)

var listedAt = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func TestListCacheKeepsAListingOnlyWhileWatched(t *testing.T) {
	listing := []state.Container{{ID: "web/a", RuntimeID: "rid-a", Running: true}}
	var c listCache
	_, gen, _ := c.get(listedAt)
	c.put(listing, gen, listedAt)
	if _, _, ok := c.get(listedAt); ok {
		t.Fatal("a listing was kept with no event subscription to say when it goes stale")
	}

	c.watch(+1)
	_, gen, _ = c.get(listedAt)
	c.put(listing, gen, listedAt)
	kept, _, ok := c.get(listedAt.Add(time.Second))
	if !ok || len(kept) != 1 || kept[0] != listing[0] {
		t.Fatalf("get = %v, %v; want the listing kept", kept, ok)
	}
	kept[0].Running = false
	if again, _, _ := c.get(listedAt); !again[0].Running {
		t.Error("a caller's edit of the returned slice reached the kept listing")
	}
	if _, _, ok := c.get(listedAt.Add(listMaxAge)); ok {
		t.Errorf("the listing was kept for %v, its maximum age", listMaxAge)
	}

	c.changed()
	if _, _, ok := c.get(listedAt); ok {
		t.Error("the listing outlived a change")
	}
	c.watch(-1)
}

func TestListCacheDropsAListingThatRacedWithAChange(t *testing.T) {
	var c listCache
	c.watch(+1)
	_, gen, _ := c.get(listedAt)
	c.changed() // a container event arrives while the engine is asked
	c.put([]state.Container{{ID: "web/a"}}, gen, listedAt)
	if _, _, ok := c.get(listedAt); ok {
		t.Error("a listing made across a change was kept")
	}
	_, gen, _ = c.get(listedAt)
	c.watch(-1) // the subscription broke while the engine was asked
	c.watch(+1)
	c.put([]state.Container{{ID: "web/a"}}, gen, listedAt)
	if _, _, ok := c.get(listedAt); ok {
		t.Error("a listing made across a broken subscription was kept")
	}
}

// Every event of the stream drops the kept listing, also those it does not
// pass on (create, destroy); a break stops the keeping altogether.
func TestEventsDropTheKeptListing(t *testing.T) {
	source := &scriptedEvents{streams: []scriptedStream{{}}}
	rt := &Runtime{events: source, settings: createSettings{node: "n1"}, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rt.Events(ctx)
	waitFor(t, "the subscription to count as live", func() bool {
		rt.listed.mu.Lock()
		defer rt.listed.mu.Unlock()
		return rt.listed.watchers == 1
	})
	keep := func() {
		_, gen, _ := rt.listed.get(listedAt)
		rt.listed.put([]state.Container{{ID: "web/a"}}, gen, listedAt)
		if _, _, ok := rt.listed.get(listedAt); !ok {
			t.Fatal("a listing made while subscribed was not kept")
		}
	}
	for _, action := range []events.Action{events.ActionCreate, events.ActionDestroy} {
		keep()
		source.send(sluiceEvent(action, "a", 5_000_000_000))
		waitFor(t, "a "+string(action)+" event to drop the kept listing", func() bool {
			_, _, ok := rt.listed.get(listedAt)
			return !ok
		})
	}
	source.mu.Lock()
	filters := source.asked[0].Filters
	source.mu.Unlock()
	if !filters["event"]["destroy"] || !filters["event"]["create"] {
		t.Errorf("filters %v do not ask for the events that change the listing", filters)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
