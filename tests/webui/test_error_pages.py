"""Errors show the site's own pages, styled, with a way back."""

from django.test import RequestFactory
from django.views import defaults


def test_the_server_error_page_is_the_sites_own():
    response = defaults.server_error(RequestFactory().get("/boom/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in html
    assert "/static/css/app.css" in html
    assert 'href="/"' in html


def test_the_not_found_page_is_the_sites_own(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "Nothing here" in response.content.decode()
