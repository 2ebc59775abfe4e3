package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
)

// allowedTarget says whether send may load addr: only loopback and private
// (RFC 1918, unique-local) addresses, which is where the project's own
// containers live.
func allowedTarget(addr netip.Addr) bool {
	addr = addr.Unmap()
	return addr.IsLoopback() || addr.IsPrivate()
}

// resolveTarget turns --to into an address to dial, refusing anything it
// may not load. Every address a name resolves to must be allowed, so a name
// cannot smuggle a public address past the check.
func resolveTarget(ctx context.Context, to string) (string, error) {
	if to == "" {
		return "", fmt.Errorf("--to is required: name the sink explicitly (HOST:PORT)")
	}
	host, port, err := net.SplitHostPort(to)
	if err != nil {
		return "", fmt.Errorf("--to %q: %w", to, err)
	}
	addrs, err := lookup(ctx, host)
	if err != nil {
		return "", fmt.Errorf("--to %q: %w", to, err)
	}
	for _, a := range addrs {
		if !allowedTarget(a) {
			return "", fmt.Errorf("--to %q: %s is neither loopback nor private; netload only loads local networks", to, a)
		}
	}
	return net.JoinHostPort(addrs[0].Unmap().String(), port), nil
}

func lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("resolve %s: no addresses", host)
	}
	return addrs, nil
}
