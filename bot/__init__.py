"""tuanbot — 团长助手: a group-buy assistant that lives in WeChat groups."""
