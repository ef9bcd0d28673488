from django.contrib.auth.forms import PasswordChangeForm, UserCreationForm

from webui.team.throttle import ThrottledOldPasswordMixin


class SignUpForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        fields = ["username"]


class ThrottledPasswordChangeForm(ThrottledOldPasswordMixin, PasswordChangeForm):
    pass
