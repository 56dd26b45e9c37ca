"""The indexes gem and bundler read (compact index, Marshal specs), rendered at write time and read back."""
