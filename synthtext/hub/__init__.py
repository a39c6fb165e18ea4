"""Sharing shard directories: dataset cards and publishing to the Hugging Face Hub."""
