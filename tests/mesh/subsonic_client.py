"""A real Subsonic client library (py-sonic, from PyPI) through a whole session against a
running tunemesh: sign-in, library sync, browsing, playback, search, playlists, stars, the
play queue and scrobbles, as an app does it. Run by tests/mesh/subsonic.rs; prints one JSON
line of what it saw (track and playlist ids, stream sizes) for the Rust side to check against
the services.

Usage: subsonic_client.py BASE_URL PORT USER SECRET WIRE AUTH FORMAT LISTENED_AGO
  WIRE: post-view (py-sonic's default: form POST to /rest/<method>.view)
        get-bare  (GET to /rest/<method>, no .view, as knuckles and Supersonic send)
  AUTH: password (u + p=enc:hex) or token (u + t + s, md5(secret + salt))
  FORMAT: json (py-sonic's own) or xml (f=xml, as DSub reads it: py-sonic builds and sends
          every request as ever, and the XML answers are read into the shape py-sonic
          expects by `from_xml`, so the same session checks both formats)
  LISTENED_AGO: seconds before now of the listen it scrobbles (twice)
"""

import json
import re
import sys
import time
import urllib.request
import xml.etree.ElementTree as ElementTree

import libsonic
import libsonic.connection

# py-sonic 1.2.0's GET mode builds requests with list parameters (star, createPlaylist,
# savePlayQueue…) through `urllib2`, a Python 2 name it never imports: a NameError before
# anything is sent. The Python 3 module it means stands in.
libsonic.connection.urllib2 = urllib.request


def connect(base, port, user, secret, wire, auth):
    conn = libsonic.Connection(
        base,
        user,
        secret,
        port=port,
        appName="py-sonic-test",
        legacyAuth=(auth == "password"),
        useGET=(wire == "get-bare"),
    )
    if wire == "get-bare":
        opener = conn._opener
        original = opener.open

        def bare(request, *args, **kwargs):
            # The same call without `.view`, as clients that never send it do.
            url = request.full_url
            path, sep, query = url.partition("?")
            if path.endswith(".view"):
                request.full_url = path[: -len(".view")] + sep + query
            return original(request, *args, **kwargs)

        opener.open = bare
    return conn


def scalar(text):
    """An XML attribute as JSON would carry it: booleans and integers typed."""
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?(0|[1-9][0-9]{0,17})", text):
        return int(text)
    return text


def from_xml(element):
    """A Subsonic XML element in the JSON shape: attributes as keys, child elements by name
    (a list when repeated), element text as `value` (genres, lyrics)."""
    out = {key: scalar(value) for key, value in element.attrib.items()}
    if element.text and element.text.strip():
        out["value"] = element.text
    for child in element:
        name = child.tag.split("}")[-1]
        value = from_xml(child)
        if name not in out:
            out[name] = value
        elif isinstance(out[name], list):
            out[name].append(value)
        else:
            out[name] = [out[name], value]
    return out


def read_xml(conn):
    """Makes `conn` ask for and read XML answers."""
    base = conn._getBaseQdict

    def qdict():
        query = base()
        query["f"] = "xml"
        return query

    def info(request):
        response = conn._opener.open(request)
        kind = response.headers.get("Content-Type", "")
        check(kind.startswith("text/xml"), f"an XML answer, not {kind}")
        root = ElementTree.fromstring(response.read())
        check(root.tag == "{http://subsonic.org/restapi}subsonic-response", root.tag)
        return from_xml(root)

    def binary(request):
        response = conn._opener.open(request)
        if response.headers.get("Content-Type", "").startswith("text/xml"):
            return from_xml(ElementTree.fromstring(response.read()))
        return response

    conn._getBaseQdict = qdict
    conn._doInfoReq = info
    conn._doBinReq = binary


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def as_list(value):
    """py-sonic hands back JSON: a list, or nothing when the server left it out."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def main():
    base, port, user, secret, wire, auth, form, ago = sys.argv[1:9]
    conn = connect(base, int(port), user, secret, wire, auth)
    if form == "xml":
        read_xml(conn)
    seen = {}

    # Sign-in, as DSub's "test connection" does it.
    check(conn.ping(), "ping")
    check(conn.getLicense()["license"]["valid"], "license")
    folders = as_list(conn.getMusicFolders()["musicFolders"]["musicFolder"])
    check(len(folders) == 1, f"one music folder: {folders}")
    scan = conn.getScanStatus()["scanStatus"]
    check(scan["count"] >= 2, f"getScanStatus counts the songs: {scan}")
    me = conn.getUser(user)["user"]
    check(me["username"] == user and me["streamRole"], f"getUser: {me}")

    # Library sync: an empty search3 lists every song, paged.
    songs = []
    offset = 0
    while True:
        page = conn.search3("", artistCount=0, albumCount=0, songCount=1, songOffset=offset)
        got = as_list(page["searchResult3"].get("song"))
        if not got:
            break
        songs.extend(got)
        offset += len(got)
        check(offset < 1000, "the sync ends")
    check(len(songs) >= 2, f"the sync lists the songs: {songs}")
    check(len({s["id"] for s in songs}) == len(songs), "each song once")
    seen["songs"] = sorted(s["id"] for s in songs)
    song = songs[0]

    # Browsing by tags, then by folders (DSub's default).
    artists = [
        a for index in as_list(conn.getArtists()["artists"].get("index")) for a in as_list(index.get("artist"))
    ]
    check(artists, "getArtists lists artists")
    artist = conn.getArtist(song["artistId"])["artist"]
    albums = as_list(artist.get("album"))
    check(any(a["id"] == song["albumId"] for a in albums), f"the song's album is its artist's: {artist}")
    album = conn.getAlbum(song["albumId"])["album"]
    check(any(s["id"] == song["id"] for s in as_list(album.get("song"))), "getAlbum lists the song")
    check(album["songCount"] >= 1 and "created" in album, f"album fields: {album}")
    one = conn.getSong(song["id"])["song"]
    check(one["title"] == song["title"] and one["duration"] > 0, f"getSong: {one}")
    indexes = as_list(conn.getIndexes()["indexes"].get("index"))
    check(indexes, "getIndexes lists artists")
    directory = conn.getMusicDirectory(song["artistId"])["directory"]
    check(
        any(c["id"] == song["albumId"] and c["isDir"] for c in as_list(directory.get("child"))),
        f"an artist's directory holds its albums: {directory}",
    )
    newest = as_list(conn.getAlbumList2("newest", size=5)["albumList2"].get("album"))
    check(newest, "getAlbumList2 newest")
    random_songs = as_list(conn.getRandomSongs(size=3)["randomSongs"].get("song"))
    check(random_songs, "getRandomSongs")

    # Search with a typo'd word of the title.
    word = max(song["title"].split(), key=len)
    typo = word[:-1] if len(word) > 4 else word
    found = as_list(conn.search3(typo)["searchResult3"].get("song"))
    check(any(s["id"] == song["id"] for s in found), f"search3 {typo!r} finds {song['title']!r}: {found}")

    # Playback: the whole file, then at most 24 kbit/s, then a cover.
    audio = conn.stream(song["id"])
    length = int(audio.headers["Content-Length"])
    body = audio.read()
    check(body[:4] == b"OggS", "an Ogg stream")
    check(len(body) == length, f"Content-Length {length} is exact ({len(body)})")
    check(song.get("size") == length, f"the song's size {song.get('size')} is what stream sends ({length})")
    low = conn.stream(song["id"], maxBitRate=32)
    low_body = low.read()
    check(0 < len(low_body) < len(body), f"maxBitRate picks a lower rung: {len(low_body)} vs {len(body)}")
    seen["stream_bytes"] = len(body)
    if song.get("coverArt"):
        cover = conn.getCoverArt(song["coverArt"], size=64)
        check(cover.read(4)[:2] in (b"\xff\xd8", b"\x89P", b"RI"), "an image")

    # Playlists: create, read, edit by index, list, delete.
    ids = [s["id"] for s in songs[:2]]
    created = conn.createPlaylist(name="py-sonic mix", songIds=ids)["playlist"]
    pid = created["id"]
    check([e["id"] for e in as_list(created.get("entry"))] == ids, f"created: {created}")
    conn.updatePlaylist(pid, name="py-sonic mix 2", songIdsToAdd=[ids[0]], songIndexesToRemove=[0])
    read = conn.getPlaylist(pid)["playlist"]
    check([e["id"] for e in as_list(read.get("entry"))] == [ids[1], ids[0]], f"edited: {read}")
    check(read["name"] == "py-sonic mix 2", "renamed")
    listed = as_list(conn.getPlaylists()["playlists"].get("playlist"))
    check(any(p["id"] == pid for p in listed), "getPlaylists lists it")
    mine = [p for p in listed if p["id"] == pid]
    check(mine and mine[0]["duration"] == read["duration"] > 0, f"getPlaylists duration: {mine} vs {read['duration']}")
    conn.deletePlaylist(pid)
    listed = as_list(conn.getPlaylists()["playlists"].get("playlist"))
    check(all(p["id"] != pid for p in listed), "deleted")

    # Stars: a song, its album and its artist.
    conn.star(sids=[song["id"]], albumIds=[song["albumId"]], artistIds=[song["artistId"]])
    starred = conn.getStarred2()["starred2"]
    check(any(s["id"] == song["id"] and "starred" in s for s in as_list(starred.get("song"))), f"starred song: {starred}")
    check(any(a["id"] == song["albumId"] for a in as_list(starred.get("album"))), f"starred album: {starred}")
    check(any(a["id"] == song["artistId"] for a in as_list(starred.get("artist"))), f"starred artist: {starred}")
    check("starred" in conn.getSong(song["id"])["song"], "getSong shows the star")
    album_songs = as_list(conn.getAlbum(song["albumId"])["album"].get("song"))
    check(any(s["id"] == song["id"] and "starred" in s for s in album_songs), "getAlbum shows the star")
    conn.unstar(sids=[song["id"]])
    check("starred" not in conn.getSong(song["id"])["song"], "unstarred in getSong")
    starred = conn.getStarred2()["starred2"]
    check(all(s["id"] != song["id"] for s in as_list(starred.get("song"))), "unstarred")

    # The play queue: one app saves it, another device reads it back where it stopped.
    queued = [s["id"] for s in songs[:2]]
    conn.savePlayQueue(queued, current=queued[-1], position=12000)
    queue = conn.getPlayQueue()["playQueue"]
    check([e["id"] for e in as_list(queue.get("entry"))] == queued, f"play queue: {queue}")
    check(queue.get("current") == queued[-1] and queue.get("position") == 12000, f"play queue: {queue}")

    # Scrobbles: now playing, then the same play submitted twice (an app resending after a
    # lost answer), then an offline play from yesterday.
    conn.scrobble(song["id"], submission=False)
    playing = as_list(conn.getNowPlaying()["nowPlaying"].get("entry"))
    check(any(e["id"] == song["id"] and e["username"] == user for e in playing), f"now playing: {playing}")
    listened = int(time.time()) - int(ago)
    conn.scrobble(song["id"], submission=True, listenTime=listened)
    conn.scrobble(song["id"], submission=True, listenTime=listened)
    seen["scrobbled"] = song["id"]

    print(json.dumps(seen))


if __name__ == "__main__":
    main()
