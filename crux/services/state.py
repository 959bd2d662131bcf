"""The state of one server process, built once by `create_app`: settings, the pool, the caches
and the services. Every call reaches it through `current_app.extensions["crux"]`."""
from __future__ import annotations

from crux.common.config import Settings
from crux.common.metrics import Metrics
from crux.services.attempts import AttemptService
from crux.services.events import EventService
from crux.services.identity import IdentityService
from crux.services.rulecache import RulesetCache
from crux.services.rules import RuleService
from crux.services.tokens import TokenVerifier
from crux.services.webhooks import WebhookService
from crux.services.workers import EngineCollector, WorkerService
from crux.services.workflow import InstanceService
from crux.store.db import Database
from crux.store.notify import Listener


class Crux:
    def __init__(self, settings: Settings, database_url: str | None = None):
        self.settings = settings
        self.db = Database(settings, database_url)
        self.listener = Listener(settings.listen_database_url or self.db.url)
        self.db.deliver_notice = self.listener.dispatch
        # the listener is the first to notice a lost or new primary: the pool then drops its
        # idle connections to the old one before calls pick them up
        self.listener.on_reset(self.db.recheck)
        self.tokens = TokenVerifier(settings)
        self.identities = IdentityService(self.db, self.listener, self.tokens, settings.identity_ttl)
        self.rules = RulesetCache(self.db, self.listener)
        self.rule_service = RuleService(self.db)
        self.instances = InstanceService(self.db, self.rules)
        self.events = EventService(self.db)
        self.webhooks = WebhookService(self.db, self.events, settings)
        self.attempts = AttemptService(self.instances)
        self.workers = WorkerService(self.db)
        self.metrics = Metrics([EngineCollector(self.db)])

    def open(self) -> None:
        self.db.open()

    def close(self) -> None:
        self.listener.stop()
        self.db.close()
