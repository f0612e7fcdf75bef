"""vote.AttachedVote.download: the poll's report as a file, not JSON.

The real server answers with an HTML ``.xls`` (../shared/reference/notes/vote-semantics.md §4.9); b24vote
also writes XLSX and CSV when asked with ``format``. The file is built while it is sent, in a read
transaction of its own, because the call's transaction has ended by then.
"""

from __future__ import annotations

from datetime import timezone

from b24vote.domain.polls import Poll
from b24vote.errors import MethodError
from b24vote.methods.params import Params
from b24vote.methods.registry import CallContext, FileResult, registry
from b24vote.methods.vote_access import resolve_readable
from b24vote.methods.vote_language import texts_for
from b24vote.reports import Labels, OpenRead, ReportFormat, parse_format, report_chunks

__all__ = ["download", "read_format", "report_file", "report_labels"]

FORMAT_ERROR = "Unknown report format {value!r}: use xls, xlsx or csv"


def read_format(raw: object) -> ReportFormat:
    """The ``format`` parameter, or ERROR_ARGUMENT."""
    if raw is not None and (not isinstance(raw, (str, int)) or isinstance(raw, bool)):
        raise MethodError("ERROR_ARGUMENT", FORMAT_ERROR.format(value=raw))
    try:
        return parse_format(None if raw is None else str(raw))
    except ValueError as exc:
        raise MethodError("ERROR_ARGUMENT", FORMAT_ERROR.format(value=str(raw))) from exc


def report_labels(language: str) -> Labels:
    """The report's headers and voter names in the portal's language."""
    texts = texts_for(language)
    return Labels(date=texts.export_date, name=texts.export_name, anonymous=texts.anonymously, guest=texts.guest)


def report_file(open_read: OpenRead, poll: Poll, fmt: ReportFormat, tz: timezone, language: str) -> FileResult:
    """The download as the real server sends it: ``vote<VOTE_ID>.<ext>``, binary transfer encoding."""
    labels = report_labels(language)
    return FileResult(
        filename=fmt.filename(poll.id),
        media_type=fmt.media_type,
        chunks=lambda: report_chunks(open_read, poll, fmt, tz=tz, labels=labels),
        headers={"Content-Transfer-Encoding": "binary"},
    )


@registry.add("vote.AttachedVote.download", scope="vote", batchable=False)
def download(ctx: CallContext, params: Params) -> FileResult:
    target = resolve_readable(ctx, params, signed_grants_read=True)
    fmt = read_format(params.raw("format"))
    if ctx.open_read is None:  # pragma: no cover - every caller of a handler provides it
        raise RuntimeError("vote.AttachedVote.download needs CallContext.open_read")
    return report_file(ctx.open_read, target.poll, fmt, ctx.tz, ctx.settings.language)
