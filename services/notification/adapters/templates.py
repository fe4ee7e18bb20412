"""Messages rendered from Jinja2 templates: `<name>.subject.txt`, `<name>.txt`, `<name>.html`
(autoescaped) for email, `<name>.sms.txt` for text messages."""

from __future__ import annotations

from collections.abc import Mapping

import jinja2

from ..domain.model import Channel
from ..service_layer.ports import MissingVariableError, Rendered, UnknownTemplateError


class TemplateRenderer:
    def __init__(self, environment: jinja2.Environment | None = None) -> None:
        self._env = environment or jinja2.Environment(
            loader=jinja2.PackageLoader("services.notification", "templates"),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            # The templates ship with the code: no stat of three files per email to see
            # whether one changed on disk.
            auto_reload=False,
        )
        self._names = frozenset(self._env.list_templates())

    def exists(self, template: str, channel: Channel) -> bool:
        return all(name in self._names for name in _files(template, channel))

    def render(self, template: str, channel: Channel, variables: Mapping[str, object]) -> Rendered:
        if not self.exists(template, channel):
            raise UnknownTemplateError(f"no {channel} template {template!r}")
        try:
            if channel is Channel.SMS:
                text = self._env.get_template(f"{template}.sms.txt").render(variables).strip()
                return Rendered(subject=text[:60], text=text)
            return Rendered(
                subject=" ".join(
                    self._env.get_template(f"{template}.subject.txt").render(variables).split()
                ),
                text=self._env.get_template(f"{template}.txt").render(variables),
                html=self._env.get_template(f"{template}.html").render(variables),
            )
        except jinja2.UndefinedError as error:
            raise MissingVariableError(str(error)) from None


def _files(template: str, channel: Channel) -> tuple[str, ...]:
    if channel is Channel.SMS:
        return (f"{template}.sms.txt",)
    return (f"{template}.subject.txt", f"{template}.txt", f"{template}.html")
