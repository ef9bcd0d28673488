"""Accounts and groups in admin: Django's own pages, filtering only by the fields they show."""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef
from django_otp.plugins.otp_totp.models import TOTPDevice

from webui.accounts import two_factor_admin  # noqa: F401  (its pages replace django-otp's)
from webui.core.admin_lookups import ShownFieldsAdmin
from webui.team.models import Membership, SignInMethod

# django.contrib.auth registered them first (it comes first in INSTALLED_APPS).
admin.site.unregister(get_user_model())
admin.site.unregister(Group)


@admin.register(get_user_model())
class AccountAdmin(ShownFieldsAdmin, UserAdmin):
    """Django's user admin, without lookups on what it hides (the password hash); the
    list shows how each account signs in and whether it has a second factor."""

    list_display = [*UserAdmin.list_display, "sign_in_method", "two_factor"]

    def get_queryset(self, request):
        authenticator = TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)
        return (
            super()
            .get_queryset(request)
            .select_related("membership")
            .annotate(has_two_factor=Exists(authenticator))
        )

    @admin.display(description="sign-in method")
    def sign_in_method(self, obj) -> str:
        try:
            return obj.membership.get_sign_in_method_display()
        except Membership.DoesNotExist:
            return SignInMethod.LOCAL.label

    @admin.display(description="two-factor", boolean=True, ordering="has_two_factor")
    def two_factor(self, obj) -> bool:
        return obj.has_two_factor


@admin.register(Group)
class TeamGroupAdmin(ShownFieldsAdmin, GroupAdmin):
    """Django's group admin, filtering only by the fields it shows."""
