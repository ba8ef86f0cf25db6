"""Chroma plumbing: the client (embedded or a server), calls under its batch limit, the store's
generations (which pair of collections is live) and reads that survive a concurrent writer."""
