"""What the registry announces, for the apps above it to act on (the registry imports none).

- model_disabled(model): an admin disabled a model. Receivers return the ids of the
  answers they ended because of it (webui.chat fails the answers still queued for it).
- worker_ordered(actor, worker, action, model): an admin gave a worker an order (the team
  app's audit log records it).
"""

from django.dispatch import Signal

model_disabled = Signal()
worker_ordered = Signal()
