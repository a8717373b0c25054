"""Local tooling (emulators, local runner, benchmark); never deployed."""
