"""Rich display in Jupyter: the HTML of mappings, maps and memory reports."""

from __future__ import annotations

import re
from pathlib import Path

import memshare as ms
from memshare.explore import _html

PAGE = ms.PAGESIZE


def strip_of(markup: str) -> str:
    found = re.search(r"\[(.*)\]</code>", markup)
    assert found is not None, markup
    return found.group(1)


def test_a_mapping_shows_its_kind_size_protection_and_resident_pages() -> None:
    mapping = ms.map_anonymous(64 * PAGE, shared=False)
    mapping[: 32 * PAGE] = b"\1" * (32 * PAGE)
    markup = mapping._repr_html_()
    for shown in ("private anonymous", _html.size(64 * PAGE), "rw-"):
        assert shown in markup
    assert strip_of(markup) == "█" * 32 + " " * 32  # a page a character
    mapping.protect(ms.PROT_NONE)
    assert "<code" not in mapping._repr_html_()  # no residency to read
    mapping.close()
    assert "closed" in mapping._repr_html_()


def test_the_strip_folds_many_pages_into_few_characters() -> None:
    assert _html.residency_strip([True, False] * 64) == (
        "<code title='pages in memory'>[" + "▄" * 64 + "]</code>"
    )
    assert _html.residency_strip([True] * 10, cells=4) == (
        "<code title='pages in memory'>[████]</code>"
    )
    assert _html.residency_strip([]) == ""


def test_maps_show_as_a_table_with_paths_escaped(tmp_path: Path) -> None:
    path = tmp_path / "<b>odd & name"
    path.write_bytes(b"\0" * PAGE)
    mapping = ms.map_file(path, mode="r")
    listed = ms.maps()
    markup = listed._repr_html_()
    assert "&lt;b&gt;odd &amp; name" in markup
    assert "<b>odd" not in markup
    assert markup.count("<tr>") == len(listed) + 1  # a row each, and the head
    mapping.close()


def test_a_memory_report_shows_each_process_and_the_total() -> None:
    markup = ms.memory_report()._repr_html_()
    assert "<td>all</td>" in markup
    assert "PSS" in markup


def test_a_shared_memory_block_shows_its_name_size_and_pages(shm_name: str) -> None:
    block = ms.SharedMemory(shm_name, create=True, size=4 * PAGE, reserve=False)
    block.buf[: 2 * PAGE] = b"\1" * (2 * PAGE)
    markup = block._repr_html_()
    assert shm_name in markup
    assert _html.size(4 * PAGE) in markup
    assert "read-write" in markup
    assert strip_of(markup) == "██  "
    block.close()
    assert "closed" in block._repr_html_()
    block.unlink()


def test_backing_and_segments_show_as_tables(shm_name: str) -> None:
    array = ms.zeros(1000, name=shm_name)
    backing = ms.backing(array[10:])
    assert backing is not None
    markup = backing._repr_html_()
    assert "<td>named</td>" in markup
    assert f"<td>{shm_name}</td>" in markup
    listed = ms.segments()
    assert f"<td>{shm_name}</td>" in listed._repr_html_()
    assert listed._repr_html_().count("<tr>") == len(listed) + 1
    del array
    ms.unlink(shm_name)
