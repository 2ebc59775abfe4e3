package docker

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/moby/moby/client"
)

// BridgeNetwork is Docker's default network, the one sluice's containers
// join.
const BridgeNetwork = "bridge"

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
	return netip.Addr{}, fmt.Errorf("the %s network has no IPv4 gateway", BridgeNetwork)
}
