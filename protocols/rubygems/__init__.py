"""RubyGems protocol adapter for packyard (import package ``packyard_rubygems``)."""
