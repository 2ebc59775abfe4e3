package state

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// Grant creates a lease of ttlSeconds. Its deadline counts from the last time
// given to ExpireLeases; a lease granted before the first ExpireLeases counts
// from that first call, so a simulation may grant leases before its clock
// starts.
func (s *MemoryStore) Grant(ctx context.Context, ttlSeconds int64) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("grant lease: %w", err)
	}
	if ttlSeconds <= 0 {
		return 0, fmt.Errorf("grant lease: ttl must be at least 1 second, got %d", ttlSeconds)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, fmt.Errorf("grant lease: %w", ErrStoreClosed)
	}
	s.lastLease++
	lease := &memLease{ttl: time.Duration(ttlSeconds) * time.Second, keys: map[string]struct{}{}}
	s.renew(lease)
	s.leases[s.lastLease] = lease
	return s.lastLease, nil
}

// KeepAlive pushes the lease's deadline to a full ttl after the last time
// given to ExpireLeases.
func (s *MemoryStore) KeepAlive(ctx context.Context, id int64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("keep lease %d alive: %w", id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("keep lease %d alive: %w", id, ErrStoreClosed)
	}
	lease := s.leases[id]
	if lease == nil {
		return fmt.Errorf("keep lease %d alive: %w", id, ErrLeaseNotFound)
	}
	s.renew(lease)
	return nil
}

func (s *MemoryStore) renew(lease *memLease) {
	if s.clockKnown {
		lease.deadline = s.now.Add(lease.ttl)
	}
}

// Revoke ends the lease now and deletes its keys at one revision.
func (s *MemoryStore) Revoke(ctx context.Context, id int64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("revoke lease %d: %w", id, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("revoke lease %d: %w", id, ErrStoreClosed)
	}
	if s.leases[id] == nil {
		return fmt.Errorf("revoke lease %d: %w", id, ErrLeaseNotFound)
	}
	s.revoke(id)
	return nil
}

// ExpireLeases tells the store that the time is now and revokes every lease
// whose deadline has passed, each at its own revision, in lease order. It
// returns the expired leases. Time never goes back: an earlier now than the
// last one is ignored.
func (s *MemoryStore) ExpireLeases(now time.Time) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	if !s.clockKnown {
		s.now, s.clockKnown = now, true
		for _, lease := range s.leases {
			s.renew(lease)
		}
	}
	if now.After(s.now) {
		s.now = now
	}
	var expired []int64
	for id, lease := range s.leases {
		if !lease.deadline.After(s.now) {
			expired = append(expired, id)
		}
	}
	sort.Slice(expired, func(i, j int) bool { return expired[i] < expired[j] })
	for _, id := range expired {
		s.revoke(id)
	}
	return expired
}

// revoke deletes the lease's keys in key order at one revision, as etcd
// does; a lease without keys goes without a revision.
func (s *MemoryStore) revoke(id int64) {
	keys := SortedKeys(s.leases[id].keys)
	delete(s.leases, id)
	events := make([]Event, 0, len(keys))
	for _, key := range keys {
		delete(s.kvs, key)
		events = append(events, Event{Revision: s.rev + 1, Key: key, Deleted: true})
	}
	s.commit(events)
}
