package docker

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"github.com/moby/moby/client"
)

// BridgeNetwork is Docker's default network, the one sluice's containers
// join.
const BridgeNetwork = "bridge"

// bridgeNameOption names the host interface of a bridge network; the
// default bridge's is docker0 when the option is absent.
const bridgeNameOption = "com.docker.network.bridge.name"

// BridgeGateway returns the host's address on the default bridge: where
// the node's own services (the trace receivers) listen so its containers
// reach them, without listening on any other interface.
func (r *Runtime) BridgeGateway(ctx context.Context) (netip.Addr, error) {
	res, err := r.cli.NetworkInspect(ctx, BridgeNetwork, client.NetworkInspectOptions{})
	if err != nil {
		return netip.Addr{}, fmt.Errorf("inspect the %s network: %w", BridgeNetwork, err)
	}
	for _, cfg := range res.Network.IPAM.Config {
		if cfg.Gateway.Is4() {
			return cfg.Gateway, nil
		}
	}
	// The default bridge's IPAM often leaves the gateway out: it is the
	// address of the bridge interface itself.
	name := res.Network.Options[bridgeNameOption]
	if name == "" {
		name = "docker0"
	}
	return interfaceIPv4(name)
}

func interfaceIPv4(name string) (netip.Addr, error) {
	iface, err := net.InterfaceByName(name)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("the %s network's interface %s: %w", BridgeNetwork, name, err)
	}
	addrs, err := iface.Addrs()
	if err != nil {
		return netip.Addr{}, fmt.Errorf("addresses of %s: %w", name, err)
	}
	for _, a := range addrs {
		if prefix, err := netip.ParsePrefix(a.String()); err == nil && prefix.Addr().Is4() {
			return prefix.Addr(), nil
		}
	}
	return netip.Addr{}, fmt.Errorf("interface %s of the %s network has no IPv4 address", name, BridgeNetwork)
}
