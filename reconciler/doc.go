// Package reconciler drives each app on a node towards its desired state.
package reconciler
