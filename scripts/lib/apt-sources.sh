# Reading apt's sources, for scripts/setup.sh (sourced; also run by test/setup-script.test.ts against fixture folders).
# Every function takes the apt configuration folder as its first argument (normally /etc/apt), so that the logic can
# be tested on any layout without touching the machine.
#
# Two formats exist (sources.list(5)):
#   one-line:  deb [options] URI suite [component...]        in APT_DIR/sources.list and APT_DIR/sources.list.d/*.list
#   deb822:    stanzas of 'Field: value' lines, e.g.          in APT_DIR/sources.list.d/*.sources
#              Types: deb / URIs: http://deb.debian.org/debian / Suites: bookworm bookworm-updates
# A '#' starts a comment in both. Debian 12's stock images have only sources.list.d/debian.sources, whose comments
# hold snapshot.debian.org addresses: those must not be mistaken for the mirror.

# Prints one line per 'deb' source: "URI SUITE..." (deb-src and disabled entries left out). Missing files are fine.
apt_deb_sources() {
  local apt_dir=$1 f
  for f in "$apt_dir/sources.list" "$apt_dir"/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    # Strip comments; drop the [options] block; keep 'deb URI suite...'.
    sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && NF >= 3 { $1 = ""; sub(/^ +/, ""); print }'
  done
  for f in "$apt_dir"/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # deb822: a blank line ends a stanza; a comment line is no line at all (deleting it must not split the stanza);
    # 'Enabled: no' disables a stanza; field names are case-insensitive.
    sed -e '/^[[:space:]]*#/d' -e 's/#.*//' "$f" | awk '
      function flush() {
        if (types ~ /(^| )deb( |$)/ && uris != "" && enabled != "no") {
          n = split(uris, u, " ")
          for (i = 1; i <= n; i++) print u[i], suites
        }
        types = ""; uris = ""; suites = ""; enabled = ""
      }
      /^[ \t]*$/ { flush(); next }
      {
        line = $0; key = tolower(line); sub(/:.*/, "", key); val = line; sub(/^[^:]*:[ \t]*/, "", val)
        gsub(/[ \t]+/, " ", val); sub(/ $/, "", val)
        if (key == "types") types = val
        else if (key == "uris") uris = val
        else if (key == "suites") suites = val
        else if (key == "enabled") enabled = tolower(val)
      }
      END { flush() }'
  done
}

# The Debian archive mirror the machine already uses (not the security archive), or nothing.
apt_debian_mirror() {
  apt_deb_sources "$1" | awk '$1 ~ /^https?:\/\// && $1 !~ /security/ && $1 ~ /\/debian\/?$/ { print $1; exit }'
}

# Succeeds when some 'deb' source already carries SUITE (e.g. bookworm-backports).
apt_has_suite() {
  apt_deb_sources "$1" | awk -v want="$2" '{ for (i = 2; i <= NF; i++) if ($i == want) found = 1 } END { exit !found }'
}
