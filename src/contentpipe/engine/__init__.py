"""The build engine: stages run over immutable values, with one dependency graph persisted between builds."""
