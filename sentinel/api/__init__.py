"""The HTTP API of the reconciler (docs/contract.md#api), served on the state directory's unix socket."""
