"""Use cases, one function per action. Each owns its transaction:
load -> engine decides -> persist -> commit -> return what the edge should publish."""
