"""The poller: polls market and weather providers every minute and puts their events on the stream."""
