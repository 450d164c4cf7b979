"""Publishing: drafts and review (先审后发), sources and repost tasks, the schedule, the runner."""
