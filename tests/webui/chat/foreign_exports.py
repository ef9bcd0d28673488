"""Small exports of ChatGPT, Open WebUI and LibreChat, written by hand in each app's real
shape (fields as their exports hold them, ids as they write them), with branches."""

import json

# ChatGPT's conversations.json: a list of conversations, each a tree of nodes by id. The
# question was edited once (two versions) and its second version's answer regenerated;
# current_node picks the first of those answers, not the newest.
CHATGPT = [
    {
        "title": "Boiling eggs",
        "create_time": 1714560000.12,
        "update_time": 1714563600.5,
        "mapping": {
            "client-created-root": {
                "id": "client-created-root",
                "message": None,
                "parent": None,
                "children": ["sys-1"],
            },
            "sys-1": {
                "id": "sys-1",
                "message": {
                    "id": "sys-1",
                    "author": {"role": "system", "name": None, "metadata": {}},
                    "create_time": None,
                    "update_time": None,
                    "content": {"content_type": "text", "parts": [""]},
                    "status": "finished_successfully",
                    "end_turn": True,
                    "weight": 0.0,
                    "metadata": {"is_visually_hidden_from_conversation": True},
                    "recipient": "all",
                },
                "parent": "client-created-root",
                "children": ["q1"],
            },
            "q1": {
                "id": "q1",
                "message": {
                    "id": "q1",
                    "author": {"role": "user", "name": None, "metadata": {}},
                    "create_time": 1714560001.0,
                    "content": {
                        "content_type": "multimodal_text",
                        "parts": [
                            {
                                "content_type": "image_asset_pointer",
                                "asset_pointer": "file-service://x",
                            },
                            "How long to boil an egg?",
                        ],
                    },
                    "status": "finished_successfully",
                    "metadata": {},
                    "recipient": "all",
                },
                "parent": "sys-1",
                "children": ["a1"],
            },
            "a1": {
                "id": "a1",
                "message": {
                    "id": "a1",
                    "author": {"role": "assistant", "name": None, "metadata": {}},
                    "create_time": 1714560005.0,
                    "content": {"content_type": "text", "parts": ["About **nine** minutes."]},
                    "status": "finished_successfully",
                    "metadata": {"model_slug": "gpt-4o", "finish_details": {"type": "stop"}},
                    "recipient": "all",
                },
                "parent": "q1",
                "children": ["q2", "q2-edit"],
            },
            "q2": {
                "id": "q2",
                "message": {
                    "id": "q2",
                    "author": {"role": "user", "metadata": {}},
                    "create_time": 1714560100.0,
                    "content": {"content_type": "text", "parts": ["And a soft one?"]},
                    "metadata": {},
                    "recipient": "all",
                },
                "parent": "a1",
                "children": ["a2-old"],
            },
            "a2-old": {
                "id": "a2-old",
                "message": {
                    "id": "a2-old",
                    "author": {"role": "assistant", "metadata": {}},
                    "create_time": 1714560104.0,
                    "content": {"content_type": "text", "parts": ["Six minutes."]},
                    "metadata": {"model_slug": "gpt-4o"},
                    "recipient": "all",
                },
                "parent": "q2",
                "children": [],
            },
            "q2-edit": {
                "id": "q2-edit",
                "message": {
                    "id": "q2-edit",
                    "author": {"role": "user", "metadata": {}},
                    "create_time": 1714560200.0,
                    "content": {"content_type": "text", "parts": ["And a soft-boiled one?"]},
                    "metadata": {},
                    "recipient": "all",
                },
                "parent": "a1",
                "children": ["call"],
            },
            "call": {
                "id": "call",
                "message": {
                    "id": "call",
                    "author": {"role": "assistant", "metadata": {}},
                    "create_time": 1714560201.0,
                    "content": {
                        "content_type": "code",
                        "language": "unknown",
                        "text": "search('soft egg')",
                    },
                    "metadata": {"model_slug": "gpt-4o"},
                    "recipient": "browser",
                },
                "parent": "q2-edit",
                "children": ["tool"],
            },
            "tool": {
                "id": "tool",
                "message": {
                    "id": "tool",
                    "author": {"role": "tool", "name": "browser", "metadata": {}},
                    "create_time": 1714560202.0,
                    "content": {"content_type": "tether_browsing_display", "result": "..."},
                    "metadata": {},
                    "recipient": "all",
                },
                "parent": "call",
                "children": ["a2", "a2-again"],
            },
            "a2": {
                "id": "a2",
                "message": {
                    "id": "a2",
                    "author": {"role": "assistant", "metadata": {}},
                    # Older than its question, as clocks sometimes are: it must still follow it.
                    "create_time": 1714560150.0,
                    "content": {"content_type": "text", "parts": ["Six and a half minutes."]},
                    "metadata": {"model_slug": "gpt-4o"},
                    "recipient": "all",
                },
                "parent": "tool",
                "children": [],
            },
            "a2-again": {
                "id": "a2-again",
                "message": {
                    "id": "a2-again",
                    "author": {"role": "assistant", "metadata": {}},
                    "create_time": 1714560300.0,
                    "content": {"content_type": "text", "parts": ["About six minutes."]},
                    "metadata": {"model_slug": "gpt-4o"},
                    "recipient": "all",
                },
                "parent": "tool",
                "children": [],
            },
        },
        "moderation_results": [],
        "current_node": "a2",
        "conversation_id": "6632f0c0-1111-4a4a-9b9b-000000000001",
        "is_archived": False,
        "id": "6632f0c0-1111-4a4a-9b9b-000000000001",
    },
    {
        "title": None,
        "create_time": 1714570000.0,
        "update_time": 1714570010.0,
        "mapping": {
            "root": {"id": "root", "message": None, "parent": None, "children": ["u"]},
            "u": {
                "id": "u",
                "message": {
                    "id": "u",
                    "author": {"role": "user"},
                    "create_time": 1714570001.0,
                    "content": {"content_type": "text", "parts": ["<script>alert(1)</script>"]},
                    "metadata": {},
                },
                "parent": "root",
                "children": [],
            },
        },
        "current_node": "u",
        "id": "6632f0c0-1111-4a4a-9b9b-000000000002",
    },
]

# Open WebUI's "Export chats": a list of chats as its database holds them. The answer was
# regenerated; currentId picks the first one. The second chat is an older export with only
# the list of messages shown.
OPEN_WEBUI = [
    {
        "id": "8d1c0b6e-3f0a-4a51-9d0e-5a0d2c1e0001",
        "user_id": "u1",
        "title": "Sourdough starter",
        "chat": {
            "id": "",
            "title": "Sourdough starter",
            "models": ["llama3.1:8b"],
            "params": {},
            "history": {
                "messages": {
                    "m1": {
                        "id": "m1",
                        "parentId": None,
                        "childrenIds": ["m2", "m3"],
                        "role": "user",
                        "content": "How often do I feed a starter?",
                        "timestamp": 1720000000,
                        "models": ["llama3.1:8b"],
                    },
                    "m2": {
                        "id": "m2",
                        "parentId": "m1",
                        "childrenIds": ["m4"],
                        "role": "assistant",
                        "content": "Once a day at room temperature.",
                        "model": "llama3.1:8b",
                        "modelName": "Llama 3.1 8B",
                        "timestamp": 1720000004,
                        "done": True,
                    },
                    "m3": {
                        "id": "m3",
                        "parentId": "m1",
                        "childrenIds": [],
                        "role": "assistant",
                        "content": "Daily, or weekly if kept in the fridge.",
                        "model": "llama3.1:8b",
                        "timestamp": 1720000060,
                        "done": True,
                    },
                    "m4": {
                        "id": "m4",
                        "parentId": "m2",
                        "childrenIds": ["m5"],
                        "role": "user",
                        "content": "And in the fridge?",
                        "timestamp": 1720000030,
                    },
                    "m5": {
                        "id": "m5",
                        "parentId": "m4",
                        "childrenIds": [],
                        "role": "assistant",
                        "content": "Once a week.",
                        "model": "llama3.1:8b",
                        "timestamp": 1720000034,
                        "done": True,
                    },
                },
                "currentId": "m5",
            },
            "messages": [],
            "tags": [],
            "timestamp": 1720000000000,
            "files": [],
        },
        "updated_at": 1720000034,
        "created_at": 1720000000,
        "share_id": None,
        "archived": False,
        "pinned": True,
        "meta": {},
        "folder_id": None,
    },
    {
        "id": "8d1c0b6e-3f0a-4a51-9d0e-5a0d2c1e0002",
        "title": "Old chat",
        "chat": {
            "title": "Old chat",
            "messages": [
                {"role": "user", "content": "Hello", "timestamp": 1700000000},
                {"role": "assistant", "content": "Hi there!", "timestamp": 1700000002},
            ],
        },
        "created_at": 1700000000,
        "updated_at": 1700000002,
        "archived": True,
    },
]

# LibreChat's "Export" of one conversation, as a tree (recursive): the second question has
# two versions; LibreChat names no current branch, so the newest is shown.
LIBRECHAT_TREE = {
    "conversationId": "4a86c40e-e627-4454-b158-889680e2aaaa",
    "endpoint": "openAI",
    "title": "Python venv",
    "exportAt": "13:18:04 GMT-0400 (Eastern Daylight Time)",
    "branches": True,
    "recursive": True,
    "options": {"model": "gpt-4-turbo", "temperature": 0.8, "endpoint": "openAI"},
    "messagesTree": [
        {
            "messageId": "9501f99d-9bbb-40cb-bbb2-16d79aec0001",
            "conversationId": "4a86c40e-e627-4454-b158-889680e2aaaa",
            "createdAt": "2024-05-01T16:35:11.530Z",
            "isCreatedByUser": True,
            "model": None,
            "parentMessageId": "00000000-0000-0000-0000-000000000000",
            "sender": "User",
            "text": "How do I activate a venv?",
            "children": [
                {
                    "messageId": "4c395510-fdfd-4556-b034-f9440f020002",
                    "createdAt": "2024-05-01T16:35:12.604Z",
                    "isCreatedByUser": False,
                    "model": "gpt-4-turbo",
                    "parentMessageId": "9501f99d-9bbb-40cb-bbb2-16d79aec0001",
                    "sender": "GPT-4",
                    "text": "Run `source venv/bin/activate`.",
                    "finish_reason": "stop",
                    "children": [
                        {
                            "messageId": "6e4c95ca-fcb1-4869-adc3-b4bcec830003",
                            "createdAt": "2024-05-01T16:36:00.000Z",
                            "parentMessageId": "4c395510-fdfd-4556-b034-f9440f020002",
                            "sender": "User",
                            "text": "thanks",
                            "isCreatedByUser": True,
                            "children": [],
                        },
                        {
                            "messageId": "d3e12088-962e-42ce-900d-edd6816a0004",
                            "createdAt": "2024-05-01T16:37:00.000Z",
                            "parentMessageId": "4c395510-fdfd-4556-b034-f9440f020002",
                            "sender": "User",
                            "text": "And on Windows?",
                            "isCreatedByUser": True,
                            "children": [
                                {
                                    "messageId": "1f062c99-ff0a-4cf4-a1cf-7150261a0005",
                                    "createdAt": "2024-05-01T16:37:02.000Z",
                                    "parentMessageId": "d3e12088-962e-42ce-900d-edd6816a0004",
                                    "isCreatedByUser": False,
                                    "model": "gpt-4-turbo",
                                    "sender": "GPT-4",
                                    "text": "",
                                    "content": [
                                        {"type": "text", "text": "Run `venv\\Scripts\\activate`."}
                                    ],
                                    "children": [],
                                }
                            ],
                        },
                    ],
                }
            ],
        }
    ],
}

# The same export without branches: a flat list, each message naming its parent.
LIBRECHAT_FLAT = {
    "conversationId": "af1ea676-f525-444f-a9ed-7c8dbf06bbbb",
    "endpoint": "openAI",
    "title": "Fuel consumption",
    "branches": False,
    "recursive": False,
    "messages": [
        {
            "messageId": "b123942f-ca1a-4b16-9e1f-ea4af5170001",
            "createdAt": "2024-04-09T14:32:05.230Z",
            "isCreatedByUser": True,
            "parentMessageId": "00000000-0000-0000-0000-000000000000",
            "sender": "user",
            "text": "Fuel use of a VW Transporter?",
        },
        {
            "messageId": "549a4f45-cf93-4e3b-ae62-1abf02af0002",
            "createdAt": "2024-04-09T14:32:05.242Z",
            "isCreatedByUser": False,
            "parentMessageId": "b123942f-ca1a-4b16-9e1f-ea4af5170001",
            "sender": "GPT-3.5",
            "text": "About 8.2 litres per 100 km.",
        },
    ],
}


def raw(document) -> bytes:
    return json.dumps(document).encode()
