"""The HTTP API of the reconciler (DESIGN §7), served on the state directory's unix socket."""
