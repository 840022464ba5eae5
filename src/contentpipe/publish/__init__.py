"""Publishing a build to a target (a local folder or S3-compatible storage): only what changed, in a safe order."""
