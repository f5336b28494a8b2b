"""Unit tests of sentinel.health: the pure tracker."""
