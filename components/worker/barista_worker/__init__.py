"""Barista worker: one ScrapeFlow's scraping, as snapshot events.

Layers (each imports only those below it):

- ``__main__`` / ``app`` / ``embedded`` — process and ``barista up`` lifecycles (settings, backends,
  probes, signals);
- ``worker`` — a flow's worker: targets, schedule, run windows, summaries;
- ``pool`` — bounded concurrency over targets; ``fetch`` — throttle (distributed limiter, fleet-wide
  pause) and retries; ``emit`` — snapshots → catalogue events on ``barista.events``; ``enrich``;
  ``schedule`` — interval/cron runs shared by replicas through Redis;
- ``sources`` — the flow registry, one pure module per source (requests out, JSON in, snapshots out);
- ``model``, ``jsonpath`` — typed values and the JSONPath subset, no I/O.
"""
