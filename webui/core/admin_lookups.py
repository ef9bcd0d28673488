"""The ModelAdmin every admin page uses: it filters only by the fields it shows."""

from django.contrib import admin
from django.contrib.admin import widgets
from django.contrib.admin.filters import SimpleListFilter
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.db.models.constants import LOOKUP_SEP


def field_path(model: type[Model], lookup: str) -> str:
    """The fields a lookup goes through, without its transforms and lookups:
    `content__regex` -> `content`, `model__id__exact` -> `model` (a related row's own key
    is the relation itself), `sampling__seed` -> `sampling`; "" when it names no field."""
    names: list[str] = []
    relation = None
    for part in lookup.split(LOOKUP_SEP):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            break
        if relation is not None and (
            field.primary_key or part in getattr(relation, "to_fields", ())
        ):
            break
        names.append(part)
        if not field.is_relation or field.related_model is None:
            break  # what follows are transforms and lookups
        relation, model = field, field.related_model
    return LOOKUP_SEP.join(names)


class ShownFieldsAdmin(admin.ModelAdmin):
    """A ModelAdmin whose list filters only by the fields it shows.

    Django accepts a lookup on any field of the model in the URL (`?content__regex=`);
    with the row count as the answer, staff could read what the page hides, a guess at
    a time. Here a lookup must go through a field of list_filter, list_display or
    date_hierarchy; members' words (`content_fields`) only for those who may read them,
    each look written to the audit log.
    """

    # Field paths that hold members' words: never filtered or searched by, unless
    # content_readable(), and then each use is audited.
    content_fields: tuple[str, ...] = ()

    def content_readable(self, request) -> bool:
        """Whether this request may look into members' words (each look is audited)."""
        return False

    def audit_content(self, request, what: str) -> None:
        """Write one look into members' words to the audit log."""
        raise NotImplementedError("an admin that lets staff look into members' words audits it")

    def lookup_allowed(self, lookup, value, request) -> bool:
        path = field_path(self.model, lookup)
        if path in self.content_fields:
            if not self.content_readable(request):
                return False
            self.audit_content(request, f"filter {lookup}={value}")
            return True
        if path and path in self.shown_paths(request):
            return True
        return lookup in self._filter_parameters(request) or self._popup_lookup(lookup, value)

    def shown_paths(self, request) -> set[str]:
        """The field paths this admin's list shows or filters by."""
        names = [self.date_hierarchy, *self.get_list_display(request)]
        for item in self.get_list_filter(request):
            names.append(item[0] if isinstance(item, list | tuple) else item)
        paths = {field_path(self.model, name) for name in names if isinstance(name, str)}
        return paths - {""}

    def get_search_fields(self, request):
        fields = super().get_search_fields(request)
        if self.content_readable(request):
            return fields
        return [name for name in fields if not self._is_content(name)]

    def get_search_results(self, request, queryset, search_term):
        words = [name for name in self.get_search_fields(request) if self._is_content(name)]
        if words and search_term:
            self.audit_content(request, f"search {', '.join(words)} for {search_term}")
        return super().get_search_results(request, queryset, search_term)

    def _is_content(self, search_field: str) -> bool:
        return field_path(self.model, search_field.lstrip("^=@")) in self.content_fields

    def _filter_parameters(self, request) -> set[str]:
        """The query parameters of the list's own filter classes."""
        return {
            item.parameter_name
            for item in self.get_list_filter(request)
            if isinstance(item, type) and issubclass(item, SimpleListFilter)
        }

    def _popup_lookup(self, lookup: str, value) -> bool:
        """A raw-id popup's lookup, from a foreign key's limit_choices_to (as Django allows)."""
        for fk_lookup in self.model._meta.related_fkey_lookups:
            if callable(fk_lookup):
                fk_lookup = fk_lookup()
            if (lookup, value) in widgets.url_params_from_lookup_dict(fk_lookup).items():
                return True
        return False
