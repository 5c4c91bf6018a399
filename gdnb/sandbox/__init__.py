"""The offline sandbox: one AWS-compatible endpoint on 127.0.0.1.

This is the only part of gdnb that knows it is not talking to AWS.
"""
