"""Building blocks: the only place layers are stacked (blocks) and the code heads (heads)."""
