"""The RubyGems upstream proxy: upstream gems merged into the compact index, their files fetched on demand."""
