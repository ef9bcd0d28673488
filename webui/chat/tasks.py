"""Periodic jobs, run by the housekeeping process on the beat schedule (settings)."""

import logging

from celery import shared_task
from django.db import close_old_connections

from webui.chat import reaper, retention, temporary, transfer

log = logging.getLogger(__name__)


@shared_task(name="chat.reap_orphans")
def reap_orphans() -> list[int]:
    """End or send again the answers that a worker or Redis left behind."""
    try:
        return reaper.reap_orphans()
    finally:
        close_old_connections()


@shared_task(name="chat.purge_old_conversations")
def purge_old_conversations() -> int:
    """Delete conversations past the team's retention period, if one is set."""
    try:
        if purged := retention.purge_old_conversations():
            log.info("retention: deleted %s old conversations", purged)
        return purged
    finally:
        close_old_connections()


@shared_task(name="chat.delete_abandoned_imports")
def delete_abandoned_imports() -> int:
    """Delete what imports cut short by a dead process left hidden."""
    try:
        if deleted := transfer.imports_abandoned_delete():
            log.info("imports: deleted %s conversations an import left unfinished", deleted)
        return deleted
    finally:
        close_old_connections()


@shared_task(name="chat.delete_left_temporary")
def delete_left_temporary() -> int:
    """Delete the temporary chats whose tabs are gone."""
    try:
        return temporary.delete_left()
    finally:
        close_old_connections()
