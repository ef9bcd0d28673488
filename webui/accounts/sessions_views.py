"""The Sessions page: where this account is signed in, and signing out the others."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from webui.accounts import sessions
from webui.team import audit


@login_required
def session_list(request):
    current = request.session.session_key
    rows = [
        {
            "record": record,
            "device": sessions.device_text(record.user_agent),
            "current": record.session_key == current,
            "method": sessions.method_label(record.sign_in_method),
        }
        for record in sessions.active_sessions(request.user)
    ]
    return render(request, "accounts/sessions.html", {"rows": rows})


@require_POST
@login_required
def session_sign_out(request, record_id: int):
    record = request.user.session_records.filter(pk=record_id).first()
    if record is None or record.session_key == request.session.session_key:
        raise Http404("No such session of yours.")
    sessions.session_end(record=record)
    audit.record(
        actor=request.user,
        action="signed out a session",
        target=f"{sessions.device_text(record.user_agent)} from {record.address or 'unknown'}",
    )
    return redirect("sessions")


@require_POST
@login_required
def sessions_sign_out_others(request):
    sessions.sessions_end_others(request=request)
    return redirect("sessions")
