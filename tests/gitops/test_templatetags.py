"""The diff filter: files, their added and deleted lines, and which start folded."""
from django.template.loader import render_to_string

from portal.gitops.engine import unified_diff
from portal.gitops.templatetags.gitops_tags import DIFF_OPEN_FILES, diff_files

GIT_DIFF = """diff --git a/vans/a.yaml b/vans/a.yaml
index 1111111..2222222 100644
--- a/vans/a.yaml
+++ b/vans/a.yaml
@@ -1,3 +1,3 @@
 kind: A
--- not a header: a deleted line that starts with dashes
+-- its replacement
 end: true
diff --git a/vans/gone.yaml b/vans/gone.yaml
deleted file mode 100644
index 3333333..0000000
--- a/vans/gone.yaml
+++ /dev/null
@@ -1,2 +0,0 @@
-a: 1
-b: 2
\\ No newline at end of file
diff --git a/vans/new.yaml b/vans/new.yaml
new file mode 100644
--- /dev/null
+++ b/vans/new.yaml
@@ -0,0 +1 @@
+c: 3
"""


def test_git_diff_is_split_into_files_with_counts():
    diff = diff_files(GIT_DIFF)
    assert [(f.path, f.added, f.deleted) for f in diff.files] == [
        ("vans/a.yaml", 1, 1), ("vans/gone.yaml", 0, 2), ("vans/new.yaml", 1, 0)]
    assert (diff.added, diff.deleted) == (2, 3)
    rows = {line: css for css, line in diff.files[0].rows}
    assert rows["--- not a header: a deleted line that starts with dashes"] == "del"
    assert rows["@@ -1,3 +1,3 @@"] == "hunk" and rows["--- a/vans/a.yaml"] == "meta"
    assert all(f.open for f in diff.files)  # a small diff is shown whole


def test_wayline_diffs_without_git_headers():
    text = unified_diff("x/one.yaml", "a: 1\n", "a: 2\n", "wayline", "git") + unified_diff("x/two.yaml", None, "b: 1\nc: 2\n", "a", "b")
    diff = diff_files(text)
    assert [(f.path, f.added, f.deleted) for f in diff.files] == [("x/one.yaml", 1, 1), ("x/two.yaml", 2, 0)]


def test_a_large_diff_starts_folded_and_says_what_it_holds():
    text = "".join(unified_diff(f"f{i}.yaml", None, "a: 1\n", "a", "b") for i in range(DIFF_OPEN_FILES + 1))
    diff = diff_files(text)
    assert len(diff.files) == DIFF_OPEN_FILES + 1 and not any(f.open for f in diff.files)
    html = render_to_string("gitops/inc/diff.html", {"diff": text})
    assert f"{DIFF_OPEN_FILES + 1} files, <span class=\"diff-stat-add\" title=\"lines added\">+{DIFF_OPEN_FILES + 1}</span>" in html
    assert html.count("<details") == DIFF_OPEN_FILES + 1 and " open>" not in html
    assert '<span class="diff-add">+a: 1</span>' in html


def test_no_diff():
    assert diff_files("").files == []
    assert "No differences." in render_to_string("gitops/inc/diff.html", {"diff": ""})
