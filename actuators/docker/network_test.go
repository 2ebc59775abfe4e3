package docker_test

import (
	"context"
	"net"
	"net/netip"
	"testing"

	"github.com/sluice-io/sluice/actuators/docker/dockertest"
)

func TestIntegrationBridgeGatewayIsAHostAddress(t *testing.T) {
	rt := dockertest.Runtime(t)
	gw, err := rt.BridgeGateway(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bridge gateway %s", gw)
	// The gateway must be an address of this host, so a receiver can bind it.
	l, err := net.Listen("tcp", netip.AddrPortFrom(gw, 0).String())
	if err != nil {
		t.Fatalf("bridge gateway %s is not an address of this host: %v", gw, err)
	}
	l.Close()
}
