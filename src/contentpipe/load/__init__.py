"""Loading: masters (documents, images) and channel packs, validated and hashed."""
